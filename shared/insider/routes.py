"""Insider routes: the mapping (GET/PUT with ETags, source fields, preview), sync now or queued, resume after a 403."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import azure.functions as func

from shared.app_context import AppContext
from shared.identifiers import new_identifier
from shared.insider.compiled_mapping import CompiledMapping, load_mapping, source_fields_schema
from shared.insider.drain import SyncMessage, enqueue_request
from shared.insider.mapper import RejectedCustomer
from shared.insider.mapping_checks import MappingInvalid
from shared.insider.mapping_store import MappingConflict
from shared.insider.upsert import build_upsert_body, pack_users
from shared.web.api_models import (
    MAX_ASYNC_CUSTOMERS,
    MAX_CUSTOMER_CHARS,
    MAX_SYNC_CUSTOMERS,
    InsiderSourceFields,
    InsiderSyncAccepted,
    InsiderSyncRequest,
    InsiderSyncResponse,
    PreviewRequest,
    PreviewResponse,
    ResumeResponse,
)
from shared.web.parsing import invalid, parse_model, read_json
from shared.web.problems import FieldError, Problem, bad_request
from shared.web.responses import accepted_headers, json_response, model_response

IF_MATCH = re.compile(r'\*|(W/)?"[\x21\x23-\x7E]{0,250}"')  # one entity tag (RFC 9110), or *
# A mapping has tens of rows; this bounds the time one takes to compile (about 0.4 s) and its error list.
MAX_MAPPING_CHARS = 262_144
R = TypeVar("R", InsiderSyncRequest, PreviewRequest)


def parse_customers(body: Any, model: type[R], limit: int) -> R:
    """`{"customers": [...]}` parsed by `model` (or one customer object on its own); 400 naming what is wrong.

    The model takes the customers as sent, bounding only what becomes a Table key: the mapping validates the
    rest, per customer.
    """
    if isinstance(body, dict) and "customers" not in body and "id" in body:  # one customer on its own
        try:
            request = parse_model(model, {"customers": [body]})
        except Problem as problem:  # its fields, named as sent: `name`, not customers[0].name
            raise bad_request(str(problem.detail), [FieldError(e.field.removeprefix("customers[0]."), e.message)
                                                    for e in problem.errors]) from None
    else:
        request = parse_model(model, body)
    if len(request.customers) > limit:
        raise bad_request(f"send 1 to {limit} customers", [FieldError(
            "customers", f"must hold 1 to {limit} customers, got {len(request.customers)}")])
    return request


def oversized_customers(customers: list[Any]) -> list[FieldError]:
    """The customers too large to queue: one is stored whole as a table property while its request is tracked."""
    return [FieldError(f"customers[{i}]", f"is larger than {MAX_CUSTOMER_CHARS} characters as JSON")
            for i, c in enumerate(customers)
            if len(json.dumps(c, ensure_ascii=False, default=str)) > MAX_CUSTOMER_CHARS]


def _mapping_problem(exc: MappingInvalid, prefix: str = "") -> Problem:
    errors = [FieldError(prefix + (e["path"] or "/"), e["message"]) for e in exc.errors]
    return invalid("the mapping has {count} problem(s)", errors)


def _load_bounded(document: Any, field: str) -> CompiledMapping:
    """`load_mapping`, for documents of a mapping's size: a bigger one is refused before compiling it."""
    size = len(json.dumps(document, ensure_ascii=False))
    if size > MAX_MAPPING_CHARS:
        raise bad_request("the mapping is too large", [FieldError(
            field, f"is {size:,} characters as JSON; a mapping is at most {MAX_MAPPING_CHARS:,}")])
    return load_mapping(document)


async def get_mapping(ctx: AppContext) -> func.HttpResponse:
    document, etag = await ctx.mapping_store.get()
    return json_response(document, headers={"ETag": etag})


async def source_fields(ctx: AppContext) -> func.HttpResponse:
    """The customer fields the stored mapping reads, as JSON schemas (the connector's x-ms-dynamic-schema)."""
    return model_response(InsiderSourceFields, source_fields_schema(await ctx.mapping_store.compiled()))


async def put_mapping(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    if_match = req.headers.get("if-match")
    if not if_match:
        raise Problem(428, "Precondition Required", "send If-Match with the ETag from GET /api/insider/mapping",
                      errors=[FieldError("If-Match", "is required")])
    if not IF_MATCH.fullmatch(if_match):  # e.g. a list of ETags: Blob storage refuses it (it would be a 500)
        raise bad_request("If-Match must be one ETag", [FieldError("If-Match", "must be the ETag (\"...\") that "
                                                                               "GET /api/insider/mapping answered")])
    document = read_json(req, ctx.settings.max_request_body_bytes, exact_numbers=False)
    if not isinstance(document, dict):
        raise bad_request("the mapping must be a JSON object", [FieldError("body", "must be a JSON object")])
    try:
        canonical = _load_bounded(document, "body").to_document()
    except MappingInvalid as exc:
        raise _mapping_problem(exc) from None
    try:
        etag = await ctx.mapping_store.put(canonical, if_match)
    except MappingConflict:
        raise Problem(412, "Precondition Failed", "the mapping changed since you read it; GET it again",
                      errors=[FieldError("If-Match", "does not match the stored mapping")]) from None
    return json_response(canonical, headers={"ETag": etag})


async def preview(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    """The exact upsert bodies an input would produce, and each customer's problems; nothing is sent."""
    request = parse_customers(read_json(req, ctx.settings.max_batch_body_bytes, exact_numbers=False),
                              PreviewRequest, MAX_ASYNC_CUSTOMERS)
    if request.mapping is None:  # absent or null: the stored mapping
        mapping = await ctx.mapping_store.compiled()
    else:
        try:
            mapping = _load_bounded(request.mapping, "mapping")
        except MappingInvalid as exc:
            raise _mapping_problem(exc, "mapping") from None
    results, users = [], []
    for customer in request.customers:
        outcome = mapping.map(customer)
        if isinstance(outcome, RejectedCustomer):
            results.append({"customerId": outcome.customer_id, "status": "rejected", "errors": outcome.errors})
        else:
            users.append(outcome.user)
            results.append({"customerId": outcome.customer_id, "status": "valid", "errors": [],
                            "warnings": outcome.warnings})
    callback = ctx.settings.insider.error_callback_url if ctx.settings.insider else None
    packs = pack_users(users, skip_hook=mapping.skip_hook, error_callback_endpoint=callback)
    requests = [build_upsert_body(mapping, [users[i] for i in pack], callback) for pack in packs]
    mapping_warnings = [{"field": w["path"] or "/", "message": w["message"]} for w in mapping.warnings]
    return model_response(PreviewResponse, {"requests": requests, "results": results,
                                            "mappingWarnings": mapping_warnings})


async def sync(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    mode = req.params.get("mode", "sync")
    if mode not in ("sync", "async"):
        raise bad_request("mode is sync or async", [FieldError("mode", "must be sync or async")])
    if mode == "async":
        return await _sync_async(ctx, req)
    customers = parse_customers(read_json(req, ctx.settings.max_request_body_bytes, exact_numbers=False),
                                InsiderSyncRequest, MAX_SYNC_CUSTOMERS).customers
    syncer = ctx.insider_syncer()
    outcome = await syncer.sync(await ctx.mapping_store.compiled(), customers, inline_retry=True)
    identifier = outcome.request_identifiers[0] if outcome.request_identifiers else new_identifier()
    body = {"identifier": identifier, "results": [r.as_api() for r in outcome.results]}
    if outcome.paused:
        raise Problem(503, "Service Unavailable", outcome.paused, extra=body,
                      headers={"Retry-After": str(60), "x-identifier": identifier})
    return model_response(InsiderSyncResponse, body, headers={"x-identifier": identifier})


async def _sync_async(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    customers = parse_customers(read_json(req, ctx.settings.max_batch_body_bytes, exact_numbers=False),
                                InsiderSyncRequest, MAX_ASYNC_CUSTOMERS).customers
    ctx.insider_syncer()  # 503 before accepting work that could never be sent
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, customer in enumerate(customers):
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if not isinstance(customer_id, str) or not customer_id.strip():
            errors.append(FieldError(f"customers[{index}].id", "is required"))
        elif customer_id in seen:
            errors.append(FieldError(f"customers[{index}].id", f"repeats customers[{seen[customer_id]}]"))
        else:
            seen[customer_id] = index
    errors += oversized_customers(customers)
    if errors:
        raise invalid("{count} problem(s); nothing was queued", errors)
    request_id = await enqueue_request(ctx, "insider", customers, SyncMessage([]))
    return model_response(
        InsiderSyncAccepted,
        {"requestId": request_id, "accepted": len(customers)},
        status=202,
        headers=accepted_headers(req, request_id),
    )


async def resume(ctx: AppContext) -> func.HttpResponse:
    lifted = await ctx.insider_syncer().pause.resume()
    return model_response(ResumeResponse, {"resumed": lifted})
