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
from shared.inquba.models import ItemKind
from shared.inquba.queue import as_payload, enqueue, replay
from shared.web.api_models import (
    BatchAccepted,
    DeliveryStatus,
    EventBatchRequest,
    ReplayAccepted,
    RequestStatus,
    TransactionBatchRequest,
)
from shared.web.parsing import invalid, parse_model, read_json
from shared.web.problems import FieldError, bad_request, not_found
from shared.web.responses import accepted_headers, model_response

MAX_ITEM_CHARS = 30_000  # one item travels as one queue message (64 KiB, base64) and one table property
LIST_KEYS: dict[ItemKind, str] = {"event": "events", "transaction": "transactions"}
BATCH_MODELS: dict[ItemKind, type[EventBatchRequest | TransactionBatchRequest]] = {
    "event": EventBatchRequest, "transaction": TransactionBatchRequest}
NOT_ENQUEUED = "{count} problem(s) in the batch; nothing was enqueued"


async def submit(ctx: AppContext, req: func.HttpRequest, kind: ItemKind) -> func.HttpResponse:
    """Validate every item before any is enqueued; 400 names each bad item's index and field."""
    request = parse_model(BATCH_MODELS[kind], read_json(req, ctx.settings.max_batch_body_bytes), detail=NOT_ENQUEUED)
    list_key = LIST_KEYS[kind]
    errors: list[FieldError] = []
    messages: list[InqubaQueueMessage] = []
    batch_id = new_identifier()
    for index, item in enumerate(getattr(request, list_key)):
        payload = as_payload(item)
        if len(json.dumps(payload, ensure_ascii=False)) > MAX_ITEM_CHARS:
            errors.append(FieldError(f"{list_key}[{index}]", f"is larger than {MAX_ITEM_CHARS} characters as JSON"))
            continue
        identifier = item.identifier or new_identifier()
        messages.append(InqubaQueueMessage(kind=kind, identifier=identifier, payload=payload, batchId=batch_id,
                                           firstSend=True))
    if errors:
        raise invalid(NOT_ENQUEUED, errors)
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
