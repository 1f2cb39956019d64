"""Names of the simulated API targets, as used by the request log and by the fault controls."""

from __future__ import annotations

from typing import Final

# Request-log targets: one per API (both anonymise routes share one).
INQUBA_TOKEN: Final = "inquba-token"
INQUBA_EVENTS: Final = "inquba-events"
INQUBA_TRANSACTIONS: Final = "inquba-transactions"
INSIDER_UPSERT: Final = "insider-upsert"
INSIDER_ATTRIBUTES_DELETE: Final = "insider-attributes-delete"
INSIDER_DELETE: Final = "insider-delete"
INSIDER_ANONYMIZE: Final = "insider-anonymize"
INSIDER_PROFILE: Final = "insider-profile"
# Requests to a path the sandbox does not serve (outside /_control); logged to help spot wrong URLs.
UNMATCHED: Final = "unmatched"

RECORD_TARGETS: Final = (
    INQUBA_TOKEN,
    INQUBA_EVENTS,
    INQUBA_TRANSACTIONS,
    INSIDER_UPSERT,
    INSIDER_ATTRIBUTES_DELETE,
    INSIDER_DELETE,
    INSIDER_ANONYMIZE,
    INSIDER_PROFILE,
    UNMATCHED,
)

# Fault targets: what `error_targets` and `rate_limit_per_minute` are keyed by. Insider's upsert and
# delete-attributes share one: "The rate limit is shared with the Delete User Attribute" (§5.1).
FAULT_INQUBA_TOKEN: Final = "inquba-token"
FAULT_INQUBA_API: Final = "inquba-api"
FAULT_INSIDER: Final = "insider"
FAULT_INSIDER_DELETE: Final = "insider-delete"
FAULT_INSIDER_ANONYMIZE: Final = "insider-anonymize"
FAULT_INSIDER_PROFILE: Final = "insider-profile"

INSIDER_FAULT_TARGETS: Final = (FAULT_INSIDER, FAULT_INSIDER_DELETE, FAULT_INSIDER_ANONYMIZE, FAULT_INSIDER_PROFILE)
FAULT_TARGETS: Final = (FAULT_INQUBA_TOKEN, FAULT_INQUBA_API, *INSIDER_FAULT_TARGETS)

FAULT_TARGET_OF: Final[dict[str, str]] = {
    INQUBA_TOKEN: FAULT_INQUBA_TOKEN,
    INQUBA_EVENTS: FAULT_INQUBA_API,
    INQUBA_TRANSACTIONS: FAULT_INQUBA_API,
    INSIDER_UPSERT: FAULT_INSIDER,
    INSIDER_ATTRIBUTES_DELETE: FAULT_INSIDER,
    INSIDER_DELETE: FAULT_INSIDER_DELETE,
    INSIDER_ANONYMIZE: FAULT_INSIDER_ANONYMIZE,
    INSIDER_PROFILE: FAULT_INSIDER_PROFILE,
}
