"""Erase customers: from Insider (delete the user, or anonymise its PII), then from the app's own copies.

Insider takes one user per request for both, and limits delete user to 10,000 and anonymise to 500 requests a
minute (insider-api.md §8). Each process paces its requests to stay inside those limits: a request of an endpoint
starts at least 60/limit seconds after the previous one, with at most `ERASE_CONCURRENCY` in flight. A 429 (other
instances, or other clients of the same Insider account, share the limit) holds every request of that endpoint in
the process until its `Retry-After` has passed (1 s when it sends none), and the customer is tried again, until
the caller's deadline; then it is `failed` and retryable. A 403 pauses sending as for sync.

Insider's answer per customer: 200 `erased`; 404 `not-found` (documented for anonymise; delete documents only 200
`{}`, so only a 404 Insider really answers counts); 400 and the rest `failed` with Insider's error. For a customer
`erased` or `not-found` the app's own copies are erased next: its outbound log entries, and the delivery records
and batch items they name (shared/outbound_log/erasure.py, shared/delivery/erasure.py). The erase request's own log
entry has the customer ID but no name, and its identifiers masked in the stored bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.data.tables.aio import TableClient

from shared.delivery.erasure import erase_delivery_copies
from shared.identifiers import new_identifier
from shared.insider.compiled_mapping import CompiledMapping
from shared.insider.identity import Identified, identify
from shared.insider.mapper import RejectedCustomer
from shared.insider.sync import (
    PAUSE_REASON,
    CustomerResult,
    InsiderSyncer,
    SyncOutcome,
    insider_request,
    paused_problem,
    paused_result,
    rejected,
    request_problem,
)
from shared.insider.upsert import encode_body
from shared.outbound_log.erasure import erase_customer_log
from shared.personal_data import erased_at, personal_strings
from shared.telemetry import delivery_span
from shared.upstream import CallMeta, UpstreamResult

ERASE_CONCURRENCY = 8
NO_RETRY_AFTER_SECONDS = 1.0  # a 429 without Retry-After holds the endpoint this long (doubling per try, at most 30)
MAX_BACKOFF_SECONDS = 30.0
MAX_TRIES = 20  # per customer and call, throttling included: a bound even when every Retry-After is 0


@dataclass(frozen=True)
class EraseAction:
    name: str  # the API's action and the outbound log's operation
    path: str
    per_minute: int  # Insider's documented rate limit (§8)


ACTIONS = {
    "delete": EraseAction("delete", "/user/v1/delete", 10_000),
    "anonymize": EraseAction("anonymize", "/user/v1/anonymize", 500),
}


class RatePacer:
    """Request starts of one endpoint in this process: spaced `60 / per_minute` s apart, and held after a 429."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 60.0 / per_minute
        self.clock = clock
        self.next_start = 0.0
        self.held_until = 0.0

    async def slot(self) -> None:
        """Wait until a request may start, and take that start."""
        while True:
            now = self.clock()
            start = max(now, self.next_start, self.held_until)
            if start <= now:
                self.next_start = now + self.interval
                return
            await asyncio.sleep(start - now)

    def hold(self, seconds: float) -> None:
        """No request starts for `seconds` (Insider's Retry-After)."""
        self.held_until = max(self.held_until, self.clock() + seconds)


@dataclass
class EraseResult(CustomerResult):
    identifier: str | None = None  # the identifier of the customer's erase request in the outbound log
    copies: dict[str, int] | None = None  # what was erased of the app's own copies

    def as_api(self) -> dict[str, Any]:
        return {**super().as_api(), "identifier": self.identifier, "copies": self.copies}


class InsiderEraser:
    """Erases customers at Insider and in the app's tables; one per process, so that its pacing is the process's."""

    def __init__(self, syncer: InsiderSyncer, log: TableClient, deliveries: TableClient, batches: TableClient) -> None:
        self.syncer = syncer
        self.log, self.deliveries, self.batches = log, deliveries, batches
        self.pacers = {name: RatePacer(action.per_minute) for name, action in ACTIONS.items()}
        self.gate = asyncio.Semaphore(ERASE_CONCURRENCY)

    async def erase(self, mapping: CompiledMapping, customers: Sequence[Any], action: str, *,
                    deadline_seconds: float, first_attempt: int = 1) -> SyncOutcome:
        """One result per customer, in input order; each customer is one request, retried until the deadline."""
        deadline = time.monotonic() + deadline_seconds
        outcome = SyncOutcome([])
        identified = [identify(mapping, customer) for customer in customers]
        paused = await self.syncer.pause.state()
        if paused:
            outcome.paused = paused["error"]

        async def one(who: Identified | RejectedCustomer, customer: Any) -> CustomerResult:
            if isinstance(who, RejectedCustomer):
                return rejected(who)
            if outcome.paused:
                return paused_result(who.customer_id, who.customer_name, outcome.paused)
            result = await self._erase_one(who, ACTIONS[action], deadline, outcome, first_attempt)
            if result.status in ("erased", "not-found"):
                result.copies = await self.erase_copies(who, customer)
            return result

        outcome.results = list(await asyncio.gather(*(one(w, c) for w, c in zip(identified, customers, strict=True))))
        return outcome

    async def _erase_one(self, who: Identified, action: EraseAction, deadline: float, outcome: SyncOutcome,
                         attempt: int) -> EraseResult:
        identifier = new_identifier()
        outcome.request_identifiers.append(identifier)
        body = encode_body({"identifiers": who.identifiers})
        pacer = self.pacers[action.name]
        with delivery_span(f"insider.{action.name}", identifier, attempt=attempt):
            for tries in range(1, MAX_TRIES + 1):
                async with self.gate:
                    await pacer.slot()
                    if outcome.paused:  # a 403 of another customer's request
                        break
                    meta = CallMeta("insider", action.name, identifier, attempt, customer_id=who.customer_id,
                                    private_values=who.values)
                    result = await self.syncer.upstream.send(insider_request(self.syncer.settings, action.path, body),
                                                             meta)
                outcome.requests_sent += 1
                status = result.status_code
                if status in (200, 404):
                    return EraseResult(who.customer_id, who.customer_name, "erased" if status == 200 else "not-found",
                                       [], False, status, identifier)
                problem, retryable = request_problem(result)
                failed = EraseResult(who.customer_id, who.customer_name, "failed", [problem], retryable, status,
                                     identifier)
                if status == 403:
                    outcome.paused = PAUSE_REASON  # the other customers' requests stop now
                    await self.syncer.pause_after_403(identifier)
                    return failed
                delay = self._delay(result, tries, pacer)
                if not retryable or tries == MAX_TRIES or time.monotonic() + delay > deadline:
                    return failed
                await asyncio.sleep(delay)
                attempt += 1
        return EraseResult(who.customer_id, who.customer_name, "failed", [paused_problem(outcome.paused or "")],
                           True, None, identifier)

    @staticmethod
    def _delay(result: UpstreamResult, tries: int, pacer: RatePacer) -> float:
        """How long to wait before trying again; a 429 holds the whole endpoint that long."""
        retry_after = result.retry_after_seconds
        delay = retry_after if retry_after is not None else min(MAX_BACKOFF_SECONDS,
                                                                NO_RETRY_AFTER_SECONDS * 2 ** (tries - 1))
        if result.status_code == 429:
            pacer.hold(delay)
        return delay

    async def erase_copies(self, who: Identified, customer: Any) -> dict[str, int]:
        """Erase the customer's outbound log entries (both platforms), delivery records and batch items."""
        values = {v for v in who.values if v != who.customer_id}
        if who.customer_name:
            values.add(who.customer_name)
        if isinstance(customer, dict):
            values |= personal_strings(customer.get("attributes"))
        when = erased_at()
        log = await erase_customer_log(self.log, who.customer_id, values, when)
        delivery = await erase_delivery_copies(self.deliveries, self.batches, who.customer_id, log.references,
                                               values, when)
        return {"outboundLogEntries": log.entries, "deliveryRecords": delivery.delivery_records,
                "batchItems": delivery.batch_items}
