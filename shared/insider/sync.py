"""Sync customers to Insider: map, validate, pack into upsert requests, send, and read results per customer.

One upsert request carries up to 1,000 users and 5 MB. Insider answers 200 with per-user failures
(`data.fail.errors` keyed `users.N...`), which are mapped back to the customer they belong to.
Retryable answers (429, 5xx, timeouts) mark only that request's customers for a retry; a 403 pauses
sending for the connection (Insider's advice) and keeps the customers for later.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.identifiers import new_identifier
from shared.insider.compiled_mapping import CompiledMapping
from shared.insider.mapper import MappedCustomer, RejectedCustomer
from shared.insider.pause import InsiderPause
from shared.insider.upsert import build_upsert_body, encode_body, pack_users, read_upsert_reply, upsert_request
from shared.outbound_log.writer import CustomerSlice
from shared.settings import InsiderSettings
from shared.telemetry import delivery_span, log_extra
from shared.upstream import CallMeta, UpstreamClient, UpstreamResult, is_retryable

logger = logging.getLogger(__name__)

SEND_CONCURRENCY = 4


@dataclass
class CustomerResult:
    customer_id: str | None
    customer_name: str | None
    status: str  # synced | rejected | failed | unconfirmed (Insider's reply does not show it was applied)
    errors: list[dict[str, Any]] = field(default_factory=list)
    retryable: bool = False  # a later try may succeed (throttling, 5xx, timeout, pause, unconfirmed reply)
    upstream_status: int | None = None

    def as_api(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "status": self.status, "errors": self.errors,
                "retryable": self.retryable}


@dataclass
class SyncOutcome:
    results: list[CustomerResult]
    requests_sent: int = 0
    request_identifiers: list[str] = field(default_factory=list)
    paused: str | None = None  # the pause reason when sending stopped on a 403 (or was already paused)


def _request_outcomes(result: UpstreamResult, count: int) -> list[tuple[str, list[dict[str, Any]], bool]]:
    """(status, errors, retryable) for each user of one upsert request, from Insider's answer.

    A user is synced only when a 200 of the documented shape, whose counts add up, names no failure of it;
    when the reply cannot confirm that, the users it names no failure for are unconfirmed and retryable.
    """
    status = result.status_code
    if status == 200:
        reply = read_upsert_reply(result.body, count)
        unconfirmed = [{"field": "request", "rule": "unconfirmed",
                        "message": f"Insider's reply does not confirm this user: {reply.unconfirmed}"}]
        outcomes: list[tuple[str, list[dict[str, Any]], bool]] = []
        for index in range(count):
            errors = [
                {"field": f["path"], "rule": "insider", "message": "; ".join(map(str, f["messages"]))}
                for f in reply.failures.get(index, [])
            ]
            if errors:
                outcomes.append(("failed", errors, False))
            elif reply.unconfirmed:
                outcomes.append(("unconfirmed", unconfirmed, True))
            else:
                outcomes.append(("synced", [], False))
        return outcomes
    error = result.error or f"HTTP {status}"
    if status == 403:
        message = "Insider refused the partner name or API key (403); sending is paused until it is fixed"
        return [("failed", [{"field": "connection", "rule": "forbidden", "message": message}], True)] * count
    retryable = is_retryable(status)
    problem = {"field": "request", "rule": f"http-{status or 'error'}", "message": error}
    return [("failed", [problem], retryable)] * count


class InsiderSyncer:
    """Sends mapped customers to Insider through the outbound log."""

    def __init__(self, upstream: UpstreamClient, settings: InsiderSettings, pause: InsiderPause) -> None:
        self.upstream = upstream
        self.settings = settings
        self.pause = pause

    async def sync(
        self, mapping: CompiledMapping, customers: Sequence[Any], *, inline_retry: bool, max_users: int = 1000
    ) -> SyncOutcome:
        """Map every customer, send the valid ones, and return one result per customer in input order."""
        results: list[CustomerResult | None] = [None] * len(customers)
        mapped: list[MappedCustomer] = []
        owners: list[int] = []
        for index, customer in enumerate(customers):
            outcome = mapping.map(customer)
            if isinstance(outcome, RejectedCustomer):
                results[index] = CustomerResult(outcome.customer_id, outcome.customer_name, "rejected", outcome.errors)
            else:
                mapped.append(outcome)
                owners.append(index)
        sync = SyncOutcome([])
        paused = await self.pause.state()
        if paused:
            sync.paused = paused["error"]
            problem = {"field": "connection", "rule": "paused",
                       "message": "Insider sending is paused: " + paused["error"]}
            for m, owner in zip(mapped, owners, strict=True):
                results[owner] = CustomerResult(m.customer_id, m.customer_name, "failed", [problem], retryable=True)
            sync.results = [r for r in results if r is not None]
            return sync

        users = [m.user for m in mapped]
        packs = pack_users(users, max_users=max_users, skip_hook=mapping.skip_hook,
                           error_callback_endpoint=self.settings.error_callback_url)
        for local, size in packs.oversized.items():
            m = mapped[local]
            results[owners[local]] = CustomerResult(m.customer_id, m.customer_name, "failed", [
                {"field": "customer", "rule": "size", "message": f"the customer alone is {size} bytes, over 5 MB"}
            ])
        gate = asyncio.Semaphore(SEND_CONCURRENCY)

        async def send_pack(pack: list[int]) -> None:
            async with gate:
                if sync.paused:  # a 403 on another request stopped sending
                    outcomes = [("failed", [{"field": "connection", "rule": "paused", "message": sync.paused}], True)]
                    outcomes *= len(pack)
                    status = None
                else:
                    outcomes, status = await self._send(mapping, [mapped[i] for i in pack], inline_retry, sync)
                for local, (state, errors, retryable) in zip(pack, outcomes, strict=True):
                    m = mapped[local]
                    results[owners[local]] = CustomerResult(
                        m.customer_id, m.customer_name, state, errors, retryable, status
                    )

        await asyncio.gather(*(send_pack(pack) for pack in packs))
        sync.results = [r for r in results if r is not None]
        return sync

    async def _send(
        self, mapping: CompiledMapping, customers: list[MappedCustomer], inline_retry: bool, sync: SyncOutcome
    ) -> tuple[list[tuple[str, list[dict[str, Any]], bool]], int | None]:
        body = build_upsert_body(mapping, [c.user for c in customers], self.settings.error_callback_url)
        encoded = encode_body(body)
        identifier = new_identifier()
        sync.request_identifiers.append(identifier)
        with delivery_span("insider.upsert", identifier, users=len(customers)):
            return await self._attempts(encoded, customers, identifier, inline_retry, sync)

    async def _attempts(
        self, encoded: bytes, customers: list[MappedCustomer], identifier: str, inline_retry: bool, sync: SyncOutcome
    ) -> tuple[list[tuple[str, list[dict[str, Any]], bool]], int | None]:
        computed: dict[str, Any] = {}  # the outcomes of the last try, read from its answer once for its log slices

        def slices(result: UpstreamResult) -> list[CustomerSlice]:
            computed["value"] = _request_outcomes(result, len(customers))
            return [
                CustomerSlice(
                    c.customer_id,
                    c.customer_name,
                    json.dumps(c.user, ensure_ascii=False),
                    state,
                    "; ".join(e["message"] for e in errors) or None,
                )
                for c, (state, errors, _) in zip(customers, computed["value"], strict=True)
            ]

        one = customers[0] if len(customers) == 1 else None
        meta = CallMeta("insider", "upsert", identifier, 1, customer_id=one.customer_id if one else None,
                        customer_name=one.customer_name if one else None)
        result, calls = await self.upstream.call(upsert_request(self.settings, encoded), meta,
                                                 inline_retry=inline_retry, customer_slices=slices)
        sync.requests_sent += calls
        if result.status_code == 403:
            reason = "Insider answered 403 (check INSIDER_PARTNER_NAME and INSIDER_API_KEY, and the IP allow-list)"
            sync.paused = reason
            await self.pause.pause(reason)
            # the `insider_paused` event the alert rule counts (docs/deploy.md, "Alerts")
            logger.error("Insider sending paused: %s", reason, extra=log_extra(identifier, event="insider_paused"))
        # A reply that confirms nothing keeps its body in the log entry; its users are retried (unconfirmed).
        return computed["value"], result.status_code
