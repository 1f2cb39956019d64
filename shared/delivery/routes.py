"""Batch routes: accept up to 1,000 items with 202 + Location, report progress, replay what failed.

This is the asynchronous request-reply pattern: Logic Apps and Power Automate poll the Location of a
202 by themselves (after Retry-After seconds) until the answer is no longer 202.
"""

from __future__ import annotations

import json

import azure.functions as func

from shared.app_context import AppContext
from shared.delivery.messages import InqubaQueueMessage
from shared.identifiers import is_valid_identifier, new_identifier
from shared.inquba.models import ITEM_MODELS, ItemKind
from shared.inquba.queue import as_payload, enqueue, replay
from shared.web.api_models import MAX_BATCH_ITEMS, BatchAccepted, DeliveryStatus, ReplayAccepted, RequestStatus
from shared.web.parsing import parse_model, read_json
from shared.web.problems import FieldError, Problem, bad_request, not_found
from shared.web.responses import accepted_headers, model_response

MAX_ITEM_CHARS = 30_000  # one item travels as one queue message (64 KiB, base64) and one table property
MAX_ERRORS_REPORTED = 100
LIST_KEYS: dict[ItemKind, str] = {"event": "events", "transaction": "transactions"}


async def submit(ctx: AppContext, req: func.HttpRequest, kind: ItemKind) -> func.HttpResponse:
    """Validate every item before any is enqueued; 400 names each bad item's index and field."""
    list_key = LIST_KEYS[kind]
    body = read_json(req, ctx.settings.max_batch_body_bytes)
    if not isinstance(body, dict) or not isinstance(body.get(list_key), list):
        raise bad_request(f"send {{\"{list_key}\": [...]}}", [FieldError(list_key, "must be an array")])
    unknown = sorted(set(body) - {list_key})
    if unknown:
        raise bad_request("the request has unknown fields", [FieldError(k, "is not a known field") for k in unknown])
    raw_items = body[list_key]
    if not 1 <= len(raw_items) <= MAX_BATCH_ITEMS:
        raise bad_request(f"a batch holds 1 to {MAX_BATCH_ITEMS} items",
                          [FieldError(list_key, f"must hold 1 to {MAX_BATCH_ITEMS} items, got {len(raw_items)}")])
    model = ITEM_MODELS[kind]
    errors: list[FieldError] = []
    messages: list[InqubaQueueMessage] = []
    seen: dict[str, int] = {}
    batch_id = new_identifier()
    for index, raw in enumerate(raw_items):
        prefix = f"{list_key}[{index}]"
        try:
            item = parse_model(model, raw, prefix)
        except Problem as problem:
            errors.extend(problem.errors)
            continue
        payload = as_payload(item)
        if len(json.dumps(payload, ensure_ascii=False)) > MAX_ITEM_CHARS:
            errors.append(FieldError(prefix, f"is larger than {MAX_ITEM_CHARS} characters as JSON"))
            continue
        identifier = item.identifier or new_identifier()
        if identifier in seen:
            first = f"{list_key}[{seen[identifier]}]"
            errors.append(FieldError(f"{prefix}.identifier", f"repeats the identifier of {first}"))
            continue
        seen[identifier] = index
        messages.append(InqubaQueueMessage(kind=kind, identifier=identifier, payload=payload, batchId=batch_id))
    if errors:
        raise bad_request(
            f"{len(errors)} problem(s) in the batch; nothing was enqueued", errors[:MAX_ERRORS_REPORTED]
        )
    ctx.inquba_connection()  # 503 before accepting work that could never be delivered
    await ctx.batches.create(batch_id, kind, [(m.identifier, m.payload) for m in messages])
    enqueue_errors = await enqueue(ctx, messages)
    not_enqueued = []
    for message, error in zip(messages, enqueue_errors, strict=True):
        if error:
            not_enqueued.append({"identifier": message.identifier, "error": error})
            await ctx.batches.update(batch_id, message.identifier, "failed", attempts=0, error=error)
    identifiers = [m.identifier for m, e in zip(messages, enqueue_errors, strict=True) if e is None]
    body_out: dict[str, object] = {"batchId": batch_id, "accepted": len(identifiers), "identifiers": identifiers}
    if not_enqueued:
        body_out["notEnqueued"] = not_enqueued
    return model_response(
        BatchAccepted,
        body_out,
        status=202,
        headers=accepted_headers(req, batch_id),
    )


async def status(ctx: AppContext, req: func.HttpRequest, request_id: str) -> func.HttpResponse:
    """202 with progress while any item is pending; 200 with every item once all are final."""
    if not is_valid_identifier(request_id):
        raise bad_request("not a batch id or identifier", [FieldError("batchId", "is not a valid id")])
    view = await ctx.batches.read(request_id)
    if view is None:
        record = await ctx.deliveries.get(request_id)
        if record is None:
            raise not_found(f"no batch or delivery with id {request_id}")
        return model_response(DeliveryStatus, {"identifier": request_id, "kind": record.kind, **record.as_api()})
    body = {"batchId": view.batch_id, "kind": view.kind, "total": len(view.items), "counts": view.counts}
    if not view.complete:
        return model_response(
            RequestStatus,
            {**body, "status": "running"},
            status=202,
            headers=accepted_headers(req, request_id),
        )
    items = [item.as_api() for item in view.items]
    if view.kind.startswith("insider"):  # an Insider request tracks customers, not identifiers
        items = [{"customerId": item.pop("identifier"), **item} for item in items]
    return model_response(RequestStatus, {**body, "status": "completed", "items": items})


async def replay_failed(ctx: AppContext, req: func.HttpRequest, batch_id: str) -> func.HttpResponse:
    if not is_valid_identifier(batch_id):
        raise bad_request("not a batch id", [FieldError("batchId", "is not a valid id")])
    identifier = req.params.get("identifier") or None
    if identifier is not None and not is_valid_identifier(identifier):
        raise bad_request("invalid identifier", [FieldError("identifier", "is not a valid identifier")])
    replayed = await replay(ctx, batch_id, identifier)
    if replayed is None:
        raise not_found(f"no batch with id {batch_id}")
    return model_response(
        ReplayAccepted,
        {"batchId": batch_id, "replayed": len(replayed), "identifiers": replayed},
        status=202,
        headers=accepted_headers(req, batch_id),
    )
