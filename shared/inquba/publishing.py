"""Publish one inQuba event or transaction: the cached token as the auth step, one short 429/503 retry."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shared.inquba.client import (
    InqubaConnection,
    TokenResponseError,
    parse_token_response,
    publish_request,
    token_request,
)
from shared.inquba.models import InqubaItem, ItemKind
from shared.inquba.token_cache import Token, TokenCache, TokenGrant, TokenUnavailable
from shared.redaction import Redactor
from shared.telemetry import delivery_span
from shared.upstream import CallMeta, UpstreamClient, UpstreamResult, is_retryable

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
        retryable=is_retryable(status),
        retry_after=result.retry_after_seconds,
        timed_out=result.timed_out,
        attempts=attempts,
    )


class InqubaPublisher:
    """Sends items to inQuba with the shared token cache, through the one upstream client."""

    def __init__(self, upstream: UpstreamClient, token_cache: TokenCache) -> None:
        self.upstream = upstream
        self.tokens = token_cache

    @property
    def redactor(self) -> Redactor:
        return self.upstream.redactor

    async def token(
        self, connection: InqubaConnection, *, identifier: str | None = None, reject: str | None = None
    ) -> tuple[Token, bool]:
        """A fresh token for `connection`, from a cache when possible; raises UpstreamFailure."""

        async def fetch() -> TokenGrant:
            result = await self.upstream.send(token_request(connection), CallMeta("inquba", "token", identifier))
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
        batch_id: str | None = None,
    ) -> PublishOutcome:
        """Deliver `item` or raise UpstreamFailure; `first_attempt` numbers calls made by later queue tries.

        `batch_id` (a batch item's) is recorded on the customer's log entry, so that erasing the customer
        finds the batch item that holds its payload."""
        with delivery_span("inquba.publish", identifier, kind=kind, attempt=first_attempt):
            auth = BearerToken(self, connection, identifier, (await self.token(connection, identifier=identifier))[0])
            meta = CallMeta("inquba", kind, identifier, first_attempt, item.customer_id, item.customer_name,
                            batch_id=batch_id)
            result, calls = await self.upstream.call(publish_request(connection, kind, item.wire_body()), meta,
                                                     auth=auth, inline_retry=inline_retries)
            if result.ok:
                return PublishOutcome(identifier, result.status_code or 200, result.text, result.elapsed_seconds, calls)
            raise _failure(kind, result, self.redactor, calls)


class BearerToken:
    """inQuba's access token as the auth step of a publish: the cached one, replaced once after a 401."""

    def __init__(self, publisher: InqubaPublisher, connection: InqubaConnection, identifier: str, token: Token) -> None:
        self.publisher = publisher
        self.connection = connection
        self.identifier = identifier
        self.token = token

    async def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self.token.access_token}"

    async def refresh(self) -> None:
        self.token, _ = await self.publisher.token(self.connection, identifier=self.identifier,
                                                   reject=self.token.access_token)

