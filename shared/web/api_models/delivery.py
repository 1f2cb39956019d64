"""inQuba batches and the status of a batch or queued request (GET /requests/{id})."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    field_validator,
)

from shared.inquba.models import EventRequest, TransactionRequest
from shared.web.api_models.common import MAX_BATCH_ITEMS, ApiModel, item_errors

# --- inQuba batches and request status ------------------------------------------------------------------------


def _unique_identifiers(model: type[BaseModel], items: list[EventRequest] | list[TransactionRequest],
                        key: str) -> None:
    """An identifier given twice in one batch is a 400 naming the second (JSON Schema cannot say it: a rule)."""
    seen: dict[str, int] = {}
    repeated = []
    for index, item in enumerate(items):
        if item.identifier is None:
            continue  # generated, so unique
        if item.identifier in seen:
            repeated.append(((index, "identifier"), f"repeats the identifier of {key}[{seen[item.identifier]}]"))
        else:
            seen[item.identifier] = index
    if error := item_errors(model, repeated):
        raise error


class EventBatchRequest(ApiModel):
    events: list[EventRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"1 to {MAX_BATCH_ITEMS:,} events, each as the body of Create Event; identifiers unique.",
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, items: list[EventRequest]) -> list[EventRequest]:
        _unique_identifiers(cls, items, "events")
        return items


class TransactionBatchRequest(ApiModel):
    transactions: list[TransactionRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"1 to {MAX_BATCH_ITEMS:,} transactions, each as the body of Create Transaction; identifiers "
                    "unique.",
    )

    @field_validator("transactions")
    @classmethod
    def _unique(cls, items: list[TransactionRequest]) -> list[TransactionRequest]:
        _unique_identifiers(cls, items, "transactions")
        return items


class NotEnqueued(ApiModel):
    identifier: str = Field(description="The item's identifier.")
    error: str = Field(description="Why it could not be put on the queue (its status is failed).")


class BatchAccepted(ApiModel):
    batch_id: str = Field(alias="batchId", description="The batch id; poll GET /requests/{batchId}.")
    accepted: int = Field(description="How many items were queued.")
    identifiers: list[str] = Field(description="The queued items' identifiers, in input order.")
    not_enqueued: list[NotEnqueued] | None = Field(
        None, alias="notEnqueued", description="Items the queue refused (rare); present only when some were."
    )


class _Progress(ApiModel):
    """Where one item's delivery stands: the fields every status answer shares."""

    upstream_status: int | None = Field(alias="upstreamStatus", description="The upstream's last status code.")
    error: str | None = Field(description="The last error, if any.")
    attempts: int = Field(description="Delivery attempts so far.")


class ItemStatus(_Progress):
    identifier: str = Field(description="The item's identifier.")
    status: str = Field(description="queued, pending, delivered, failed or dead-lettered.")


class CustomerStatus(_Progress):
    customer_id: str = Field(alias="customerId", description="The customer's id.")
    status: str = Field(description="queued, pending, synced (deleted for an attribute deletion), rejected, failed or "
                                    "dead-lettered.")


class RequestStatus(ApiModel):
    """A batch's or queued Insider request's progress (202 while running) or final result (200)."""

    batch_id: str = Field(alias="batchId", description="The batch or request id.")
    kind: str = Field(description="event, transaction, insider (a sync) or insider-attributes (an attribute "
                                  "deletion).")
    total: int = Field(description="How many items the request holds.")
    counts: dict[str, int] = Field(description="How many items are in each status.")
    status: Literal["running", "completed"] = Field(description="running while any item is queued or pending.")
    items: list[ItemStatus | CustomerStatus] | None = Field(
        None, description="Once completed: every item (customers for an Insider request)."
    )


class DeliveryStatus(_Progress):
    """One item's delivery record, when GET /requests/{id} is given an item identifier."""

    identifier: str = Field(description="The item's identifier.")
    kind: str = Field(description="event or transaction.")
    status: str = Field(description="delivered, failed or dead-lettered.")


class ReplayAccepted(ApiModel):
    batch_id: str = Field(alias="batchId", description="The batch id; poll GET /requests/{batchId}.")
    replayed: int = Field(description="How many items were put back on the queue.")
    identifiers: list[str] = Field(description="Their identifiers.")
