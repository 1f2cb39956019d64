"""The inQuba HTTP routes' work: parse the body, publish or get a token, shape the answer."""

from __future__ import annotations

import math

import azure.functions as func

from shared.app_context import AppContext
from shared.delivery.records import DeliveryRecord
from shared.identifiers import new_identifier
from shared.inquba.client import InqubaConnection
from shared.inquba.models import ITEM_MODELS, ItemKind, PublishResponse, TokenRequest, TokenResponse
from shared.inquba.publishing import UpstreamFailure
from shared.timestamps import iso_utc
from shared.web.parsing import parse_body, parse_model, read_json
from shared.web.problems import FieldError, Problem, bad_request
from shared.web.responses import model_response

DEFAULT_RETRY_AFTER_SECONDS = 30


def upstream_problem(failure: UpstreamFailure, identifier: str | None) -> Problem:
    """502 for a refusal or network error, 504 for a timeout, 503 with Retry-After when inQuba throttles."""
    extra = {
        "identifier": identifier,
        "operation": failure.operation,
        "upstreamStatus": failure.upstream_status,
        "upstreamBody": failure.upstream_body,
    }
    if failure.hint:
        extra["hint"] = failure.hint
    headers = {"x-identifier": identifier} if identifier else {}
    if failure.upstream_status in (429, 503) or (failure.upstream_status is None and failure.retry_after):
        retry_after = math.ceil(failure.retry_after or DEFAULT_RETRY_AFTER_SECONDS)
        headers["Retry-After"] = str(retry_after)
        return Problem(503, "Service Unavailable", f"inQuba is throttling or unavailable: {failure.error}",
                       extra=extra, headers=headers)
    if failure.timed_out:
        return Problem(504, "Gateway Timeout", f"inQuba did not answer in time: {failure.error}",
                       extra=extra, headers=headers)
    return Problem(502, "Bad Gateway", f"inQuba {failure.operation} failed: {failure.error}",
                   extra=extra, headers=headers)


async def publish(ctx: AppContext, req: func.HttpRequest, kind: ItemKind) -> func.HttpResponse:
    item = parse_body(req, ITEM_MODELS[kind], ctx.settings.max_request_body_bytes)
    connection = ctx.inquba_connection()
    identifier = item.identifier or new_identifier()
    if item.identifier:  # a caller retrying with its own identifier gets the first answer, not a second send
        record = await ctx.deliveries.get(identifier)
        if record is not None and record.status == "delivered":
            return model_response(
                PublishResponse,
                {"identifier": identifier, "status": "delivered", "upstreamStatus": record.upstream_status,
                 "upstreamBody": record.upstream_body or "", "responseTimeSeconds": 0.0},
                headers={"x-identifier": identifier, "x-duplicate": "true"},
            )
    try:
        outcome = await ctx.inquba.publish(connection, kind, item, identifier)
    except UpstreamFailure as failure:
        raise upstream_problem(failure, identifier) from None
    if item.identifier:  # only a caller's own identifier can come back: generated ones need no record
        await ctx.deliveries.save(
            DeliveryRecord(identifier, "delivered", kind, outcome.upstream_status, outcome.upstream_body, None,
                           outcome.attempts)
        )
    return model_response(
        PublishResponse,
        {
            "identifier": identifier,
            "status": "delivered",
            "upstreamStatus": outcome.upstream_status,
            "upstreamBody": outcome.upstream_body,
            "responseTimeSeconds": round(outcome.response_time_seconds, 4),
        },
        headers={"x-identifier": identifier},
    )


def _connector_connection(ctx: AppContext, request: TokenRequest) -> InqubaConnection:
    """A connection from connector-style fields (all six: TokenRequest); the host must be an allowed token host."""
    host = str(request.host_url)
    if not ctx.settings.token_host_allowed(host.split(":")[0]):
        raise bad_request(
            "hostUrl is not an allowed inQuba token host",
            [FieldError("hostUrl", "must match INQUBA_ALLOWED_TOKEN_HOSTS "
                        f"({', '.join(ctx.settings.inquba_allowed_token_hosts)})")],
        )
    tenant = str(request.tenant_name)
    return InqubaConnection(
        token_url=ctx.settings.inquba_token_url_template.format(host=host, tenant=tenant),
        tenant=tenant,
        username=str(request.username),
        password=str(request.password),
        client_id=str(request.client_id),
        client_secret=str(request.client_secret),
        api_url=ctx.settings.inquba_api_url_template.format(tenant=tenant),
    )


async def token(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    request = TokenRequest()
    if req.get_body():
        request = parse_model(TokenRequest, read_json(req, ctx.settings.max_request_body_bytes))
    if request.given():
        connection = _connector_connection(ctx, request)
        ctx.redactor.add_secret(connection.password)
        ctx.redactor.add_secret(connection.client_secret)
    else:
        connection = ctx.inquba_connection()
    try:
        tok, cached = await ctx.inquba.token(connection)
    except UpstreamFailure as failure:
        raise upstream_problem(failure, None) from None
    return model_response(
        TokenResponse,
        {
            "accessToken": tok.access_token,
            "tokenType": "Bearer",
            "expiresAt": iso_utc(tok.expires_at),
            "cached": cached,
        },
        headers={"Cache-Control": "no-store"},
    )

