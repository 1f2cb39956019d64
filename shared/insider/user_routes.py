"""Insider routes that act on users Insider already has: erase them, delete attributes, read a profile back.

Every body is parsed by the model the OpenAPI document is generated from (shared/web/api_models.py), and every
customer is addressed by the identifiers the stored mapping builds for it (shared/insider/identity.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from shared.app_context import AppContext
from shared.identifiers import new_identifier
from shared.insider.drain import SyncMessage, enqueue_request
from shared.insider.identity import identify
from shared.insider.mapper import RejectedCustomer
from shared.insider.routes import oversized_customers
from shared.insider.sync import SyncOutcome, insider_request
from shared.insider.upsert import encode_body
from shared.upstream import THROTTLE_STATUSES, CallMeta, UpstreamResult
from shared.web.api_models import (
    MAX_ATTRIBUTE_DELETE_NOW,
    InsiderAttributesDeleteRequest,
    InsiderAttributesDeleteResponse,
    InsiderEraseRequest,
    InsiderEraseResponse,
    InsiderProfileRequest,
    InsiderProfileResponse,
    InsiderSyncAccepted,
    customer_records,
)
from shared.web.parsing import invalid, parse_model, read_json
from shared.web.problems import FieldError, Problem, bad_request
from shared.web.responses import accepted_headers, model_response

# An HTTP erase rides out Insider's throttling this long (100 anonymisations at 500 a minute take 12 s), well
# inside the 230 s Azure's front end waits; what is still throttled then is answered failed and retryable.
ERASE_DEADLINE_SECONDS = 120.0
PAUSED_RETRY_AFTER_SECONDS = 60


def _paused(outcome: SyncOutcome, body: dict[str, Any]) -> Problem:
    return Problem(503, "Service Unavailable", outcome.paused, extra=body,
                   headers={"Retry-After": str(PAUSED_RETRY_AFTER_SECONDS)})


async def erase(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    """Erase 1 to 100 customers at Insider (delete or anonymise), then the app's own copies of each."""
    body = parse_model(InsiderEraseRequest, read_json(req, ctx.settings.max_request_body_bytes, exact_numbers=False))
    eraser = ctx.insider_eraser()
    outcome = await eraser.erase(await ctx.mapping_store.compiled(), customer_records(body.customers), body.action,
                                 deadline_seconds=ERASE_DEADLINE_SECONDS)
    answer = {"action": body.action,
              "results": [{"identifier": None, "copies": None, **r.as_api()} for r in outcome.results]}
    if outcome.paused:
        raise _paused(outcome, answer)
    return model_response(InsiderEraseResponse, answer)


async def delete_attributes(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    """Delete the same attributes of every customer: up to 100 answered at once, more queued (202)."""
    body = parse_model(InsiderAttributesDeleteRequest,
                       read_json(req, ctx.settings.max_batch_body_bytes, exact_numbers=False))
    customers, deletion = customer_records(body.customers), body.fragment()
    syncer = ctx.insider_syncer()
    if len(customers) <= MAX_ATTRIBUTE_DELETE_NOW:
        outcome = await syncer.delete_attributes(await ctx.mapping_store.compiled(), customers,
                                                 [deletion] * len(customers), inline_retry=True)
        answer = {"identifiers": outcome.request_identifiers, "results": [r.as_api() for r in outcome.results]}
        if outcome.paused:
            raise _paused(outcome, answer)
        return model_response(InsiderAttributesDeleteResponse, answer)
    if errors := oversized_customers(customers):
        raise invalid("{count} problem(s); nothing was queued", errors)
    request_id = await enqueue_request(ctx, "insider-attributes", customers,
                                       SyncMessage([], kind="delete-attributes", deletion=deletion))
    return model_response(InsiderSyncAccepted, {"requestId": request_id, "accepted": len(customers)}, status=202,
                          headers=accepted_headers(req, request_id))


def _epoch(moment: datetime | None, default: float) -> int:
    return int(moment.timestamp()) if moment is not None else int(default)


def _upstream_problem(result: UpstreamResult, identifier: str, detail: str) -> Problem:
    """Insider refused (502), throttled beyond the inline retry (503, its Retry-After passed on) or timed out (504)."""
    extra = {"identifier": identifier, "upstreamStatus": result.status_code,
             "upstreamBody": result.log_entry.response_body if result.log_entry else None}
    headers = {"x-identifier": identifier}
    if result.timed_out:
        return Problem(504, "Gateway Timeout", "Insider did not answer in time", extra=extra, headers=headers)
    if result.status_code in THROTTLE_STATUSES:
        retry_after = result.retry_after_seconds
        headers["Retry-After"] = str(int(retry_after) if retry_after is not None else 5)
        return Problem(503, "Service Unavailable", "Insider is throttling requests: try again later", extra=extra,
                       headers=headers)
    return Problem(502, "Bad Gateway", detail, extra=extra, headers=headers)


async def profile(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    """What Insider holds for one customer (its profile API, §8), addressed as a sync addresses it."""
    body = parse_model(InsiderProfileRequest, read_json(req, ctx.settings.max_request_body_bytes, exact_numbers=False))
    who = identify(await ctx.mapping_store.compiled(), customer_records([body.customer])[0])
    if isinstance(who, RejectedCustomer):
        raise bad_request("the mapping yields no Insider identifier for this customer",
                          [FieldError(f"customer.{e['field']}", e["message"]) for e in who.errors])
    syncer = ctx.insider_syncer()
    if paused := await syncer.pause.state():
        raise Problem(503, "Service Unavailable", "Insider sending is paused: " + paused["error"],
                      headers={"Retry-After": str(PAUSED_RETRY_AFTER_SECONDS)})
    query: dict[str, Any] = {"identifiers": who.identifiers, "attributes": body.attributes or ["*"]}
    if body.events:
        query["events"] = {"start_date": _epoch(body.events_from, 0),
                           "end_date": _epoch(body.events_to, datetime.now(UTC).timestamp()),
                           "wanted": [{"event_name": name} for name in dict.fromkeys(body.events)]}
    identifier = new_identifier()
    meta = CallMeta("insider", "profile", identifier, customer_id=who.customer_id, customer_name=who.customer_name)
    request = insider_request(syncer.settings, "/user/v1/profile", encode_body(query))
    result, _ = await syncer.upstream.call(request, meta, inline_retry=True)
    answer = {"customerId": who.customer_id, "identifier": identifier, "identifiers": who.identifiers}
    if result.status_code == 404:
        return model_response(InsiderProfileResponse, {**answer, "found": False, "profile": None},
                              headers={"x-identifier": identifier})
    if result.status_code == 403:
        await syncer.pause_after_403(identifier)
        raise Problem(503, "Service Unavailable", "Insider refused the partner name or API key (403); sending is "
                      "paused until it is fixed", headers={"Retry-After": str(PAUSED_RETRY_AFTER_SECONDS)})
    if result.status_code != 200:
        raise _upstream_problem(result, identifier, f"Insider answered {result.status_code or 'nothing'}")
    try:
        found = json.loads(result.body)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise _upstream_problem(result, identifier, "Insider's profile answer is not a JSON object")
    return model_response(InsiderProfileResponse, {**answer, "found": True, "profile": found},
                          headers={"x-identifier": identifier})
