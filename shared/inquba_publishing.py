"""Publish one inQuba event or transaction: cached token, one retry after a 401, one short 429/503 retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from shared.inquba_client import (
    InqubaConnection,
    TokenResponseError,
    parse_token_response,
    publish_request,
    token_request,
)
from shared.inquba_models import InqubaItem, ItemKind
from shared.outbound_log import OutboundLog
from shared.redaction import Redactor
from shared.telemetry import delivery_span
from shared.token_cache import Token, TokenCache, TokenGrant, TokenUnavailable
from shared.upstream_call import CallMeta, UpstreamResult, send

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
HINTS = {
    401: "check the inQuba credentials (username, password, client id and secret)",
    404: "check the inQuba tenant name and token host",
    500: "check the attributes against the event or transaction definition in inQuba",
}


@dataclass
class UpstreamFailure(Exception):
    """inQuba did not accept the call; carries what the caller and the queue need to decide."""

    operation: str
    upstream_status: int | None
    upstream_body: str
    error: str
    retryable: bool
    retry_after: float | None = None
    timed_out: bool = False
    attempts: int = 1

    def __post_init__(self) -> None:
        Exception.__init__(self, self.error)

    @property
    def hint(self) -> str | None:
        return HINTS.get(self.upstream_status or 0)


@dataclass
class PublishOutcome:
    identifier: str
    upstream_status: int
    upstream_body: str
    response_time_seconds: float
    attempts: int


def _failure(operation: str, result: UpstreamResult, redactor: Redactor, attempts: int) -> UpstreamFailure:
    status = result.status_code
    return UpstreamFailure(
        operation=operation,
        upstream_status=status,
        upstream_body=redactor.body(result.body, result.headers.get("content-type")) or "",
        error=(result.log_entry.error if result.log_entry else None) or result.error or f"HTTP {status}",
        retryable=status is None or status in RETRYABLE_STATUSES,
        retry_after=result.retry_after_seconds,
        timed_out=result.timed_out,
        attempts=attempts,
    )


class InqubaPublisher:
    """Sends items to inQuba with the shared token cache; every call goes to the outbound log."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_cache: TokenCache,
        log: OutboundLog,
        redactor: Redactor,
        *,
        max_inline_retry_after: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.tokens = token_cache
        self.log = log
        self.redactor = redactor
        self.max_inline_retry_after = max_inline_retry_after
        self.sleep = sleep

    async def token(
        self, connection: InqubaConnection, *, identifier: str | None = None, reject: str | None = None
    ) -> tuple[Token, bool]:
        """A fresh token for `connection`, from a cache when possible; raises UpstreamFailure."""

        async def fetch() -> TokenGrant:
            result = await send(
                self.http, token_request(connection), CallMeta("inquba", "token", identifier), self.log, self.redactor
            )
            if not result.ok:
                raise _failure("token", result, self.redactor, 1)
            try:
                grant = parse_token_response(result.body)
            except TokenResponseError as exc:
                raise UpstreamFailure("token", result.status_code, "", str(exc), retryable=False) from None
            self.redactor.add_secret(grant.access_token)
            return grant

        try:
            token, cached = await self.tokens.get(connection.cache_key, fetch, reject=reject)
        except TokenUnavailable as exc:
            raise UpstreamFailure("token", None, "", str(exc), retryable=True, retry_after=5) from None
        self.redactor.add_secret(token.access_token)
        return token, cached

    async def publish(
        self,
        connection: InqubaConnection,
        kind: ItemKind,
        item: InqubaItem,
        identifier: str,
        *,
        first_attempt: int = 1,
        inline_retries: bool = True,
    ) -> PublishOutcome:
        """Deliver `item` or raise UpstreamFailure; `first_attempt` numbers calls made by later queue tries."""
        with delivery_span("inquba.publish", identifier, kind=kind, attempt=first_attempt):
            return await self._publish(connection, kind, item, identifier, first_attempt, inline_retries)

    async def _publish(
        self,
        connection: InqubaConnection,
        kind: ItemKind,
        item: InqubaItem,
        identifier: str,
        first_attempt: int,
        inline_retries: bool,
    ) -> PublishOutcome:
        body = item.wire_body()
        attempt = first_attempt
        token, _ = await self.token(connection, identifier=identifier)
        refreshed = retried_throttle = False
        while True:
            meta = CallMeta("inquba", kind, identifier, attempt, item.customer_id, item.customer_name)
            result = await send(
                self.http, publish_request(connection, kind, token.access_token, body), meta, self.log, self.redactor
            )
            calls = attempt - first_attempt + 1
            if result.ok:
                return PublishOutcome(identifier, result.status_code or 200, result.text, result.elapsed_seconds, calls)
            if result.status_code == 401 and not refreshed:
                # The cached token may have expired or been revoked early: replace it once, then retry.
                refreshed = True
                token, _ = await self.token(connection, identifier=identifier, reject=token.access_token)
                attempt += 1
                continue
            retry_after = result.retry_after_seconds
            if (
                inline_retries
                and not retried_throttle
                and result.status_code in (429, 503)
                and retry_after is not None
                and retry_after <= self.max_inline_retry_after
            ):
                retried_throttle = True
                await self.sleep(retry_after)
                attempt += 1
                continue
            raise _failure(kind, result, self.redactor, calls)


def iso_utc(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")
