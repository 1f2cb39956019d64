"""When to try a failed delivery again: exponential backoff with jitter that honours Retry-After."""

from __future__ import annotations

import random

MAX_VISIBILITY_SECONDS = 7 * 24 * 3600  # Queue Storage's limit for a message's initial invisibility


def retry_delay_seconds(
    attempt: int,
    retry_after: float | None,
    *,
    base: float,
    cap: float,
    rand: random.Random | None = None,
) -> int:
    """Delay before try `attempt + 1`: base * 2^(attempt-1), jittered ±20 %, capped, at least Retry-After."""
    rng = rand or random
    backoff = min(cap, base * (2 ** max(0, attempt - 1)))
    backoff *= 0.8 + 0.4 * rng.random()
    delay = max(backoff, retry_after or 0.0)
    return int(min(MAX_VISIBILITY_SECONDS, max(0.0, round(delay))))
