"""Timestamps as the app writes them: ISO 8601 in UTC with a `Z`."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso_utc(epoch_seconds: float | None = None) -> str:
    """`2026-01-10T21:35:20.123456Z` for `epoch_seconds` (now when None)."""
    moment = time.time() if epoch_seconds is None else epoch_seconds
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")
