"""Insider routes: the mapping (GET/PUT with ETags, source fields, preview), sync now or queued, resume after a 403."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func

from shared.app_context import AppContext
from shared.identifiers import customer_id_problem, new_identifier
from shared.insider.compiled_mapping import CompiledMapping, load_mapping, source_fields_schema
from shared.insider.drain import SyncMessage, enqueue_request
from shared.insider.mapper import RejectedCustomer
from shared.insider.mapping_checks import MappingInvalid
from shared.insider.mapping_store import MappingConflict
from shared.insider.upsert import build_upsert_body, pack_users
from shared.web.api_models import (
    MAX_ASYNC_CUSTOMERS,
    MAX_CUSTOMER_NAME_LENGTH,
    MAX_SYNC_CUSTOMERS,
    InsiderSourceFields,
    InsiderSyncAccepted,
    InsiderSyncResponse,
    PreviewResponse,
    ResumeResponse,
)
from shared.web.parsing import read_json
from shared.web.problems import FieldError, Problem, bad_request
from shared.web.responses import accepted_headers, json_response, model_response

IF_MATCH = re.compile(r'\*|(W/)?"[\x21\x23-\x7E]{0,250}"')  # one entity tag (RFC 9110), or *
MAX_ERRORS_REPORTED = 100
# A mapping has tens of rows; this bounds the time one takes to compile (about 0.4 s) and its error list.
MAX_MAPPING_CHARS = 262_144
MAX_CUSTOMER_CHARS = 30_000  # a customer is stored as one table property while its request is tracked


def customers_from(body: Any, limit: int) -> list[Any]:
    """`{"customers": [...]}` or one customer object; 400 naming what is wrong."""
    if isinstance(body, dict) and "customers" in body:
        customers = body["customers"]
        if not isinstance(customers, list):
            raise bad_request("customers must be an array", [FieldError("customers", "must be an array")])
    elif isinstance(body, dict) and "id" in body:
        customers = [body]
    else:
        raise bad_request('send {"customers": [...]} or one customer', [FieldError("customers", "is required")])
    if not 1 <= len(customers) <= limit:
        raise bad_request(f"send 1 to {limit} customers",
                          [FieldError("customers", f"must hold 1 to {limit} customers, got {len(customers)}")])
    errors = []  # ids and names become Table keys and properties: bounded here, for every mode
    for index, customer in enumerate(customers):
        if not isinstance(customer, dict):
            continue  # answered per customer as rejected
        prefix = f"customers[{index}]." if "customers" in body else ""
        customer_id, name = customer.get("id"), customer.get("name")
        if isinstance(customer_id, str) and (problem := customer_id_problem(customer_id)):
            errors.append(FieldError(prefix + "id", problem))
        if isinstance(name, str) and len(name) > MAX_CUSTOMER_NAME_LENGTH:
            errors.append(FieldError(prefix + "name", f"must be at most {MAX_CUSTOMER_NAME_LENGTH} characters"))
    if errors:
        raise bad_request(f"{len(errors)} problem(s) in the customers", errors[:100])
    return customers


def _mapping_problem(exc: MappingInvalid, prefix: str = "") -> Problem:
    errors = [FieldError(prefix + (e["path"] or "/"), e["message"]) for e in exc.errors[:MAX_ERRORS_REPORTED]]
    shown = "" if len(exc.errors) <= MAX_ERRORS_REPORTED else f"; the first {MAX_ERRORS_REPORTED} are listed"
    return bad_request(f"the mapping has {len(exc.errors)} problem(s){shown}", errors)


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
    body = read_json(req, ctx.settings.max_batch_body_bytes, exact_numbers=False)
    customers = customers_from(body, MAX_ASYNC_CUSTOMERS)
    if isinstance(body, dict) and "mapping" in body:
        try:
            mapping = _load_bounded(body["mapping"], "mapping")
        except MappingInvalid as exc:
            raise _mapping_problem(exc, "mapping") from None
    else:
        mapping = await ctx.mapping_store.compiled()
    results, users = [], []
    for customer in customers:
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
    body = read_json(req, ctx.settings.max_request_body_bytes, exact_numbers=False)
    customers = customers_from(body, MAX_SYNC_CUSTOMERS)
    syncer = ctx.insider_syncer()
    outcome = await syncer.sync(await ctx.mapping_store.compiled(), customers, inline_retry=True)
    identifier = outcome.request_identifiers[0] if outcome.request_identifiers else new_identifier()
    body = {"identifier": identifier, "results": [r.as_api() for r in outcome.results]}
    if outcome.paused:
        raise Problem(503, "Service Unavailable", outcome.paused, extra=body,
                      headers={"Retry-After": str(60), "x-identifier": identifier})
    return model_response(InsiderSyncResponse, body, headers={"x-identifier": identifier})


async def _sync_async(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    body = read_json(req, ctx.settings.max_batch_body_bytes, exact_numbers=False)
    customers = customers_from(body, MAX_ASYNC_CUSTOMERS)
    ctx.insider_syncer()  # 503 before accepting work that could never be sent
    errors, seen = [], {}
    for index, customer in enumerate(customers):
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if not isinstance(customer_id, str) or not customer_id.strip():
            errors.append(FieldError(f"customers[{index}].id", "is required"))
        elif customer_id in seen:
            errors.append(FieldError(f"customers[{index}].id", f"repeats customers[{seen[customer_id]}]"))
        elif len(json.dumps(customer, ensure_ascii=False, default=str)) > MAX_CUSTOMER_CHARS:
            errors.append(FieldError(f"customers[{index}]", f"is larger than {MAX_CUSTOMER_CHARS} characters"))
        else:
            seen[customer_id] = index
    if errors:
        raise bad_request(f"{len(errors)} problem(s); nothing was queued", errors[:100])
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
