"""Sync customers to Insider: map, validate, pack into upsert requests, send, and read results per customer.

Deleting attributes (§8) goes the same way: the same limits, and per-user results in the upsert's shape.
One upsert request carries up to 1,000 users and 5 MB. Insider answers 200 with per-user failures
(`data.fail.errors` keyed `users.N...`), which are mapped back to the customer they belong to.
Retryable answers (429, 5xx, timeouts) mark only that request's customers for a retry; a 403 pauses
sending for the connection (Insider's advice) and keeps the customers for later.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.identifiers import new_identifier
from shared.insider.compiled_mapping import CompiledMapping
from shared.insider.identity import identify
from shared.insider.mapper import RejectedCustomer
from shared.insider.pause import InsiderPause
from shared.insider.upsert import build_upsert_body, encode_body, pack_users, read_upsert_reply
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
    # synced / deleted | rejected | failed | unconfirmed (Insider's reply does not show it was applied);
    # an erasure: erased | not-found | rejected | failed
    status: str
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


def insider_request(settings: InsiderSettings, path: str, body: bytes) -> httpx.Request:
    """A POST of `body` to one of Insider's UCD endpoints (`/user/v1/upsert`, ...), with the auth headers (§1.1)."""
    return httpx.Request(
        "POST",
        f"{settings.api_url}{path}",
        content=body,
        headers={
            "X-PARTNER-NAME": settings.partner_name.lower(),
            "X-REQUEST-TOKEN": settings.api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )


FORBIDDEN_MESSAGE = "Insider refused the partner name or API key (403); sending is paused until it is fixed"
PAUSE_REASON = "Insider answered 403 (check INSIDER_PARTNER_NAME and INSIDER_API_KEY, and the IP allow-list)"


def request_problem(result: UpstreamResult) -> tuple[dict[str, Any], bool]:
    """(problem, retryable) of an Insider answer that is not a success: the 403 pause, or the status and error."""
    status = result.status_code
    if status == 403:
        return {"field": "connection", "rule": "forbidden", "message": FORBIDDEN_MESSAGE}, True
    error = result.error or f"HTTP {status}"
    return {"field": "request", "rule": f"http-{status or 'error'}", "message": error}, is_retryable(status)


def _request_outcomes(
    result: UpstreamResult, count: int, done: str = "synced"
) -> list[tuple[str, list[dict[str, Any]], bool]]:
    """(status, errors, retryable) for each user of one bulk request (upsert, delete attributes), from Insider's answer.

    A user is `done` only when a 200 of the documented shape, whose counts add up, names no failure of it;
    when the reply cannot confirm that, the users it names no failure for are unconfirmed and retryable.
    """
    if result.status_code == 200:
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
                outcomes.append((done, [], False))
        return outcomes
    problem, retryable = request_problem(result)
    return [("failed", [problem], retryable)] * count


@dataclass
class Outgoing:
    """One user of a bulk request: the customer it is, the Insider user object, and the batch it belongs to."""

    customer_id: str
    customer_name: str | None
    user: dict[str, Any]
    batch_id: str | None = None


@dataclass(frozen=True)
class BulkOperation:
    """A UCD endpoint that takes up to 1,000 users and 5 MB and answers per user as the upsert does (§5.1, §8)."""

    name: str  # the outbound log's operation
    path: str
    done: str  # a user's status when Insider confirms it
    body: Callable[[list[dict[str, Any]]], dict[str, Any]]
    skip_hook: bool = False  # the envelope the packer measures (pack_users)
    error_callback_endpoint: str | None = None  # the upsert's only; in the envelope too


def upsert_operation(mapping: CompiledMapping, error_callback_endpoint: str | None) -> BulkOperation:
    return BulkOperation("upsert", "/user/v1/upsert", "synced",
                         lambda users: build_upsert_body(mapping, users, error_callback_endpoint),
                         mapping.skip_hook, error_callback_endpoint)


# §8: `{"users": [{identifiers, whole, partial, custom: {whole, partial}}]}`, up to 1,000 users and 5 MB.
ATTRIBUTES_DELETE = BulkOperation("attributes-delete", "/user/v1/attribute/delete", "deleted",
                                  lambda users: {"users": users})


def rejected(outcome: RejectedCustomer) -> CustomerResult:
    return CustomerResult(outcome.customer_id, outcome.customer_name, "rejected", outcome.errors)


def paused_problem(reason: str) -> dict[str, Any]:
    return {"field": "connection", "rule": "paused", "message": "Insider sending is paused: " + reason}


def paused_result(customer_id: str | None, customer_name: str | None, reason: str) -> CustomerResult:
    return CustomerResult(customer_id, customer_name, "failed", [paused_problem(reason)], retryable=True)


class InsiderSyncer:
    """Sends customers to Insider's bulk endpoints (upsert, delete attributes) through the outbound log."""

    def __init__(self, upstream: UpstreamClient, settings: InsiderSettings, pause: InsiderPause) -> None:
        self.upstream = upstream
        self.settings = settings
        self.pause = pause

    async def sync(
        self, mapping: CompiledMapping, customers: Sequence[Any], *, inline_retry: bool, max_users: int = 1000,
        batch_ids: Sequence[str | None] | None = None,
    ) -> SyncOutcome:
        """Map every customer, send the valid ones, and return one result per customer in input order.

        `batch_ids[i]`: the queued request customer i belongs to, recorded on its log slice.
        """
        results: list[CustomerResult | None] = [None] * len(customers)
        outgoing: dict[int, Outgoing] = {}
        for index, customer in enumerate(customers):
            outcome = mapping.map(customer)
            if isinstance(outcome, RejectedCustomer):
                results[index] = rejected(outcome)
            else:
                outgoing[index] = Outgoing(outcome.customer_id, outcome.customer_name, outcome.user,
                                           batch_ids[index] if batch_ids else None)
        operation = upsert_operation(mapping, self.settings.error_callback_url)
        return await self.send_bulk(operation, outgoing, results, inline_retry=inline_retry, max_users=max_users)

    async def delete_attributes(
        self, mapping: CompiledMapping, customers: Sequence[Any], deletions: Sequence[dict[str, Any]], *,
        inline_retry: bool, batch_ids: Sequence[str | None] | None = None,
    ) -> SyncOutcome:
        """Delete `deletions[i]` (`{whole, partial, custom}`) of customer i, addressed by its mapped identifiers."""
        results: list[CustomerResult | None] = [None] * len(customers)
        outgoing: dict[int, Outgoing] = {}
        for index, customer in enumerate(customers):
            outcome = identify(mapping, customer)
            if isinstance(outcome, RejectedCustomer):
                results[index] = rejected(outcome)
            else:
                user = {"identifiers": outcome.identifiers, **deletions[index]}
                outgoing[index] = Outgoing(outcome.customer_id, outcome.customer_name, user,
                                           batch_ids[index] if batch_ids else None)
        return await self.send_bulk(ATTRIBUTES_DELETE, outgoing, results, inline_retry=inline_retry)

    async def send_bulk(
        self, operation: BulkOperation, outgoing: dict[int, Outgoing], results: list[CustomerResult | None], *,
        inline_retry: bool, max_users: int = 1000,
    ) -> SyncOutcome:
        """Send the users of `outgoing` (by position in `results`) packed into requests; fill in their results."""
        sync = SyncOutcome([])
        paused = await self.pause.state()
        if paused:
            sync.paused = paused["error"]
            for owner, c in outgoing.items():
                results[owner] = paused_result(c.customer_id, c.customer_name, paused["error"])
            sync.results = [r for r in results if r is not None]
            return sync

        owners = list(outgoing)
        mapped = [outgoing[owner] for owner in owners]
        packs = pack_users([m.user for m in mapped], max_users=max_users, skip_hook=operation.skip_hook,
                           error_callback_endpoint=operation.error_callback_endpoint)
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
                    outcomes, status = await self._send(operation, [mapped[i] for i in pack], inline_retry, sync)
                for local, (state, errors, retryable) in zip(pack, outcomes, strict=True):
                    m = mapped[local]
                    results[owners[local]] = CustomerResult(
                        m.customer_id, m.customer_name, state, errors, retryable, status
                    )

        await asyncio.gather(*(send_pack(pack) for pack in packs))
        sync.results = [r for r in results if r is not None]
        return sync

    async def pause_after_403(self, identifier: str) -> None:
        """Insider answered 403: pause sending for the connection (Insider's advice)."""
        await self.pause.pause(PAUSE_REASON)
        # the `insider_paused` event the alert rule counts (docs/deploy.md, "Alerts")
        logger.error("Insider sending paused: %s", PAUSE_REASON, extra=log_extra(identifier, event="insider_paused"))

    async def _send(
        self, operation: BulkOperation, customers: list[Outgoing], inline_retry: bool, sync: SyncOutcome
    ) -> tuple[list[tuple[str, list[dict[str, Any]], bool]], int | None]:
        encoded = encode_body(operation.body([c.user for c in customers]))
        identifier = new_identifier()
        sync.request_identifiers.append(identifier)
        with delivery_span(f"insider.{operation.name}", identifier, users=len(customers)):
            return await self._attempts(operation, encoded, customers, identifier, inline_retry, sync)

    async def _attempts(
        self, operation: BulkOperation, encoded: bytes, customers: list[Outgoing], identifier: str,
        inline_retry: bool, sync: SyncOutcome,
    ) -> tuple[list[tuple[str, list[dict[str, Any]], bool]], int | None]:
        computed: dict[str, Any] = {}  # the outcomes of the last try, read from its answer once for its log slices

        def slices(result: UpstreamResult) -> list[CustomerSlice]:
            computed["value"] = _request_outcomes(result, len(customers), operation.done)
            return [
                CustomerSlice(
                    c.customer_id,
                    c.customer_name,
                    json.dumps(c.user, ensure_ascii=False),
                    state,
                    "; ".join(e["message"] for e in errors) or None,
                    c.batch_id,
                )
                for c, (state, errors, _) in zip(customers, computed["value"], strict=True)
            ]

        one = customers[0] if len(customers) == 1 else None
        meta = CallMeta("insider", operation.name, identifier, 1, customer_id=one.customer_id if one else None,
                        customer_name=one.customer_name if one else None)
        request = insider_request(self.settings, operation.path, encoded)
        result, calls = await self.upstream.call(request, meta, inline_retry=inline_retry, customer_slices=slices)
        sync.requests_sent += calls
        if result.status_code == 403:
            sync.paused = PAUSE_REASON  # before the pause is written: the other requests of this call stop now
            await self.pause_after_403(identifier)
        # A reply that confirms nothing keeps its body in the log entry; its users are retried (unconfirmed).
        return computed["value"], result.status_code
