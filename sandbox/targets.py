"""Names of the simulated API targets, as used by the request log and by the fault controls."""

from __future__ import annotations

from typing import Final

# Request-log targets: one per API route.
INQUBA_TOKEN: Final = "inquba-token"
INQUBA_EVENTS: Final = "inquba-events"
INQUBA_TRANSACTIONS: Final = "inquba-transactions"
INSIDER_UPSERT: Final = "insider-upsert"
# Requests to a path the sandbox does not serve (outside /_control); logged to help spot wrong URLs.
UNMATCHED: Final = "unmatched"

RECORD_TARGETS: Final = (INQUBA_TOKEN, INQUBA_EVENTS, INQUBA_TRANSACTIONS, INSIDER_UPSERT, UNMATCHED)

# Fault targets: what `error_targets` and `rate_limit_per_minute` are keyed by.
FAULT_INQUBA_TOKEN: Final = "inquba-token"
FAULT_INQUBA_API: Final = "inquba-api"
FAULT_INSIDER: Final = "insider"

FAULT_TARGETS: Final = (FAULT_INQUBA_TOKEN, FAULT_INQUBA_API, FAULT_INSIDER)

FAULT_TARGET_OF: Final[dict[str, str]] = {
    INQUBA_TOKEN: FAULT_INQUBA_TOKEN,
    INQUBA_EVENTS: FAULT_INQUBA_API,
    INQUBA_TRANSACTIONS: FAULT_INQUBA_API,
    INSIDER_UPSERT: FAULT_INSIDER,
}
