"""Log of the requests received on API routes, and cumulative per-target/status counts."""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass
class RecordedRequest:
    """One API request as received; `status` is filled in once it is answered."""

    seq: int
    time: float
    target: str
    method: str
    path: str
    query: dict[str, str | list[str]]
    headers: dict[str, str]
    body: str
    json: Any
    form: dict[str, str | list[str]] | None
    body_size: int
    body_truncated: bool
    status: int | None = None
    # Which sandbox fault shaped the answer: "error", "rate-limit", "timeout" or None.
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "target": self.target,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "json": self.json,
            "form": self.form,
            "body_size": self.body_size,
            "body_truncated": self.body_truncated,
            "status": self.status,
            "fault": self.fault,
        }


def _single_or_list(values: dict[str, list[str]]) -> dict[str, str | list[str]]:
    return {k: v[0] if len(v) == 1 else v for k, v in values.items()}


def parse_form(body: bytes) -> dict[str, str | list[str]]:
    """Form fields of an urlencoded body; a repeated field becomes a list."""
    return _single_or_list(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class Recorder:
    """Bounded request log (oldest dropped first) plus counters that survive `clear()`."""

    max_requests: int = 5000
    max_body_bytes: int = 1_000_000
    _log: deque[RecordedRequest] = field(default_factory=deque)
    _seq: int = 0
    _counts: Counter[tuple[str, int | None]] = field(default_factory=Counter)

    def record(
        self,
        *,
        target: str,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        content_type: str,
        body: bytes,
    ) -> RecordedRequest:
        self._seq += 1
        truncated = len(body) > self.max_body_bytes
        kept = body[: self.max_body_bytes]
        entry = RecordedRequest(
            seq=self._seq,
            time=time.time(),
            target=target,
            method=method,
            path=path,
            query=_single_or_list(query),
            headers=headers,
            body=kept.decode("utf-8", "replace"),
            json=None if truncated else _parse_json(body),
            form=parse_form(kept) if content_type == FORM_CONTENT_TYPE else None,
            body_size=len(body),
            body_truncated=truncated,
        )
        if self.max_requests > 0:
            self._log.append(entry)
            while len(self._log) > self.max_requests:
                self._log.popleft()
        return entry

    def answered(self, entry: RecordedRequest, status: int | None) -> None:
        entry.status = status
        self._counts[(entry.target, status)] += 1

    def entries(self, target: str | None = None, since: int = 0) -> list[RecordedRequest]:
        return [e for e in self._log if (target is None or e.target == target) and e.seq > since]

    def clear(self) -> None:
        self._log.clear()

    def reset(self) -> None:
        self._log.clear()
        self._counts.clear()
        self._seq = 0

    def counts(self) -> dict[str, dict[str, int]]:
        """{target: {status (as text, "none" when unanswered): count}}."""
        result: dict[str, dict[str, int]] = {}
        for (target, status), n in sorted(self._counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            result.setdefault(target, {})["none" if status is None else str(status)] = n
        return result
