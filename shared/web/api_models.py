"""Request and response models of the routes beyond the inQuba publish/token ones (see inquba_models.py).

They shape what the handlers answer (`http_responses.model_response` validates a body against its model
and dumps it by alias) and are the schemas of the OpenAPI document (`shared/web/openapi.py`), so the
document describes what the code does. Limits shared with the handlers live here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.identifiers import MAX_CUSTOMER_ID_CHARS, NOT_BLANK_PATTERN, WHITESPACE_PATTERN, customer_id_problem
from shared.inquba.models import EventRequest, TransactionRequest

MAX_BATCH_ITEMS = 1000
MAX_SYNC_CUSTOMERS = 100
MAX_ASYNC_CUSTOMERS = 10_000
MAX_CUSTOMER_ID_LENGTH = MAX_CUSTOMER_ID_CHARS  # and 500 once percent-encoded: identifiers.customer_id_problem
MAX_CUSTOMER_NAME_LENGTH = 256
MAX_CUSTOMER_CHARS = 30_000  # with mode=async a customer is stored as one table property while its request is tracked


class ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


def item_errors(model: type[BaseModel], problems: list[tuple[tuple[int | str, ...], str]]) -> ValidationError | None:
    """Rules across the items of a list (a repeated id): the field validator's ValidationError, its locations
    below the list's own (pydantic prefixes the field), or None."""
    if not problems:
        return None
    return ValidationError.from_exception_data(model.__name__, [
        InitErrorDetails(type=PydanticCustomError("item", message), loc=loc, input=None) for loc, message in problems])


# --- Errors ---------------------------------------------------------------------------------------------------


class FieldProblem(ApiModel):
    field: str = Field(description="The bad field: a dotted path with [index] for items, a header, or `body`.")
    message: str = Field(description="What is wrong with it.")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), the shape of every error the app answers."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="Problem type; always about:blank.")
    title: str = Field(description="The HTTP status text.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong, in a sentence.")
    errors: list[FieldProblem] | None = Field(None, description="Every bad field (400, 412, 415, 428).")


class UpstreamProblem(ProblemDetails):
    """inQuba refused, throttled or did not answer (502, 503, 504)."""

    identifier: str | None = Field(None, description="The item's identifier (null for token requests).")
    operation: Literal["token", "event", "transaction"] = Field(description="The upstream call that failed.")
    upstream_status: int | None = Field(
        None, alias="upstreamStatus", description="inQuba's status code; null on a network error or timeout."
    )
    upstream_body: str | None = Field(None, alias="upstreamBody", description="inQuba's answer (secrets redacted).")
    hint: str | None = Field(None, description="What inQuba's documented status means (401, 404, 500).")


# --- Health ---------------------------------------------------------------------------------------------------


class HealthChecks(ApiModel):
    blob: str = Field(description="`ok`, or why blob storage did not answer.")
    queue: str = Field(description="`ok`, or why queue storage did not answer.")
    table: str = Field(description="`ok`, or why table storage did not answer.")


class HealthReport(ApiModel):
    status: Literal["healthy", "unhealthy"] = Field(description="healthy when every storage check is ok.")
    version: str = Field(description="The app's version.")
    checks: HealthChecks = Field(description="Each storage service's check.")


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


class ItemStatus(ApiModel):
    identifier: str = Field(description="The item's identifier.")
    status: str = Field(description="queued, pending, delivered, failed or dead-lettered.")
    upstream_status: int | None = Field(alias="upstreamStatus", description="inQuba's last status code.")
    error: str | None = Field(description="The last error, if any.")
    attempts: int = Field(description="Delivery attempts so far.")


class CustomerStatus(ApiModel):
    customer_id: str = Field(alias="customerId", description="The customer's id.")
    status: str = Field(description="queued, pending, synced, rejected, failed or dead-lettered.")
    upstream_status: int | None = Field(alias="upstreamStatus", description="Insider's last status code.")
    error: str | None = Field(description="The last error, if any.")
    attempts: int = Field(description="Delivery attempts so far.")


class RequestStatus(ApiModel):
    """A batch's or queued Insider request's progress (202 while running) or final result (200)."""

    batch_id: str = Field(alias="batchId", description="The batch or request id.")
    kind: str = Field(description="event, transaction or insider.")
    total: int = Field(description="How many items the request holds.")
    counts: dict[str, int] = Field(description="How many items are in each status.")
    status: Literal["running", "completed"] = Field(description="running while any item is queued or pending.")
    items: list[ItemStatus | CustomerStatus] | None = Field(
        None, description="Once completed: every item (customers for an Insider request)."
    )


class DeliveryStatus(ApiModel):
    """One item's delivery record, when GET /requests/{id} is given an item identifier."""

    identifier: str = Field(description="The item's identifier.")
    kind: str = Field(description="event or transaction.")
    status: str = Field(description="delivered, failed or dead-lettered.")
    upstream_status: int | None = Field(alias="upstreamStatus", description="inQuba's last status code.")
    error: str | None = Field(description="The last error, if any.")
    attempts: int = Field(description="Delivery attempts.")


class ReplayAccepted(ApiModel):
    batch_id: str = Field(alias="batchId", description="The batch id; poll GET /requests/{batchId}.")
    replayed: int = Field(description="How many items were put back on the queue.")
    identifiers: list[str] = Field(description="Their identifiers.")


# --- Insider ----------------------------------------------------------------------------------------------------


class CustomerEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Source event name, as mapped in the Insider mapping.")
    timestamp: str = Field(description="When it happened, ISO 8601 (e.g. 2026-01-10T21:35:20Z).")
    params: dict[str, Any] | None = Field(
        None, description="Event parameters by source name; the designer lists those the stored mapping reads.")


class Customer(BaseModel):
    """A source customer; its values are validated by the mapping, and a bad one is `rejected`, not a 400."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=MAX_CUSTOMER_ID_LENGTH, pattern=NOT_BLANK_PATTERN,
                    description="The customer's id (source field `id`): not blank, and at most 500 characters "
                                "once percent-encoded as UTF-8.")
    name: str | None = Field(None, max_length=MAX_CUSTOMER_NAME_LENGTH,
                             description="A display name for the outbound log; not sent.")
    attributes: dict[str, Any] | None = Field(
        None, description="Profile attributes and identifiers by source name; the designer lists those the stored "
                          "mapping reads.")
    events: list[CustomerEvent] | None = Field(None, description="Events to send.")


# Documented as a Customer and taken as sent: the mapping validates it, and a bad one is `rejected`, not a 400.
CustomerAsSent = Annotated[Any, PlainValidator(lambda customer: customer, json_schema_input_type=Customer)]


def _table_keys(model: type[BaseModel], customers: list[Any]) -> list[Any]:
    """Ids and names become Table keys and properties: bounded in every mode, a 400 naming the customer's field."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for index, customer in enumerate(customers):
        if not isinstance(customer, dict):
            continue  # answered per customer as rejected
        customer_id, name = customer.get("id"), customer.get("name")
        if isinstance(customer_id, str) and (problem := customer_id_problem(customer_id)):
            problems.append(((index, "id"), problem))
        if isinstance(name, str) and len(name) > MAX_CUSTOMER_NAME_LENGTH:
            problems.append(((index, "name"), f"must be at most {MAX_CUSTOMER_NAME_LENGTH} characters"))
    if error := item_errors(model, problems):
        raise error
    return customers


class InsiderSyncRequest(ApiModel):
    """`{"customers": [...]}`; a single customer object on its own is taken too."""

    customers: list[CustomerAsSent] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS,
        description=f"1 to {MAX_SYNC_CUSTOMERS} customers ({MAX_ASYNC_CUSTOMERS:,} with mode=async, ids unique "
                    f"and each at most {MAX_CUSTOMER_CHARS:,} characters as JSON).",
    )

    @field_validator("customers")
    @classmethod
    def _keys(cls, customers: list[Any]) -> list[Any]:
        return _table_keys(cls, customers)


class SyncProblem(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str = Field(description="The source field (or customer, request, connection).")
    rule: str = Field(description="The rule that failed (type, required, email, http-503, insider, ...).")
    message: str = Field(description="What is wrong.")


class CustomerSyncResult(ApiModel):
    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: Literal["synced", "rejected", "failed", "unconfirmed"] = Field(
        description="synced, rejected (not sent), failed, or unconfirmed (Insider's reply did not show it applied)."
    )
    errors: list[SyncProblem] = Field(description="Why it was rejected, failed or is unconfirmed.")
    retryable: bool = Field(description="Whether sending it again may succeed (throttling, 5xx, timeout, pause, "
                                        "an unconfirmed reply); false for synced, rejected and per-user failures.")


class InsiderSyncResponse(ApiModel):
    identifier: str = Field(description="The upsert request's identifier (outbound log).")
    results: list[CustomerSyncResult] = Field(description="One result per customer, in input order.")


class InsiderPausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    identifier: str = Field(description="The request's identifier.")
    results: list[CustomerSyncResult] = Field(description="One result per customer, in input order.")


class InsiderSyncAccepted(ApiModel):
    request_id: str = Field(alias="requestId", description="The request id; poll GET /requests/{requestId}.")
    accepted: int = Field(description="How many customers were queued.")


class PreviewRequest(ApiModel):
    customers: list[CustomerAsSent] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS, description=f"1 to {MAX_ASYNC_CUSTOMERS:,} customers."
    )
    mapping: dict[str, Any] | None = Field(None, description="A mapping to try instead of the stored one (absent or "
                                                             "null: the stored one).")

    @field_validator("customers")
    @classmethod
    def _keys(cls, customers: list[Any]) -> list[Any]:
        return _table_keys(cls, customers)


class PreviewResult(ApiModel):
    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: Literal["valid", "rejected"] = Field(description="valid (would be sent) or rejected.")
    errors: list[SyncProblem] = Field(description="Why it would be rejected.")
    warnings: list[SyncProblem] | None = Field(None, description="Values that would be dropped.")


class PreviewResponse(ApiModel):
    requests: list[dict[str, Any]] = Field(description="The exact upsert bodies that would be sent.")
    results: list[PreviewResult] = Field(description="One result per customer, in input order.")


class ResumeResponse(ApiModel):
    resumed: bool = Field(description="true when sending was paused and is now resumed.")


class FieldsSchema(ApiModel):
    """A JSON schema of an object: one property per source field."""

    type: Literal["object"] = Field(description="Always object.")
    properties: dict[str, dict[str, Any]] = Field(description="Each field's JSON schema (type, description).")


class InsiderSourceFields(ApiModel):
    """The customer fields the stored mapping reads: the connector's dynamic schema of a customer."""

    attributes: FieldsSchema = Field(description="A customer's attributes: the identifier and profile sources.")
    event_params: FieldsSchema = Field(alias="eventParams",
                                       description="An event's params: the parameter sources of every mapped event.")


# --- Outbound log -------------------------------------------------------------------------------------------------


_S = WHITESPACE_PATTERN
Blank = Annotated[str, Field(pattern=f"^{_S}*$")]
# A time: an RFC 3339 date-time, or a date (its start); parse_query also takes a date-time without an offset (UTC).
Moment = Annotated[str, WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"},
                                                  {"type": "string", "format": "date"},
                                                  {"type": "string", "pattern": f"^{_S}*$"}]})]
# Opaque: the continuationToken of a previous page (its filters signed in), which no generator can make.
ContinuationToken = Annotated[str, WithJsonSchema({"type": "string", "format": "continuation-token"})]


class LogQueryParameters(ApiModel):
    """Query parameters of GET /outbound-logs (parsed by shared/outbound_log/query.parse_query).

    A parameter given empty (or blank) is absent, so the patterns take blanks too.
    """

    # Lengths are checked after surrounding spaces are stripped, which JSON Schema cannot say: in descriptions.
    identifier: str | None = Field(None, description="Entries of this request identifier (at most 256 characters).")
    customer_id: str | None = Field(None, alias="customerId", description="Entries of this customer, batched "
                                    "Insider requests included (at most 256 characters).")
    error: str | None = Field(None, description="Entries whose error contains this text (at most 500 characters).")
    status_code: str | None = Field(None, alias="statusCode",
                                    pattern=f"^{_S}*([1-5][0-9][0-9]|[1-5][xX][xX]|[Nn][Oo][Nn][Ee])?{_S}*$",
                                    description="A status code (404), a class (5xx) or none (no response).")
    target: str | None = Field(None, pattern=f"^{_S}*([Ii][Nn][Qq][Uu][Bb][Aa]|[Ii][Nn][Ss][Ii][Dd][Ee][Rr])?{_S}*$",
                               description="inquba or insider.")
    from_: Moment | None = Field(None, alias="from", description="Entries at or after this time, not later than "
                                 "to: an RFC 3339 date-time (2026-03-01T00:00:00Z), or a date (its start, UTC); a "
                                 "date-time without an offset is UTC.")
    to: Moment | None = Field(None, description="Entries at or before this time, as from.")
    limit: Annotated[int, Field(ge=1, le=200)] | Blank | None = Field(None, description="Entries per page, 1 to 200 "
                                                                                       "(50).")
    continuation_token: ContinuationToken | None = Field(
        None, alias="continuationToken", description="The continuationToken of the previous page, with the same "
        "filters: an opaque value that only this API issues; any other is a 400.")


class LogEntrySummary(ApiModel):
    id: str = Field(description="The entry id.")
    timestamp: str = Field(description="When the call was sent (ISO 8601, UTC).")
    target: str | None = Field(description="inquba or insider.")
    operation: str | None = Field(description="token, event, transaction or upsert.")
    method: str | None = Field(description="The HTTP method.")
    url: str | None = Field(description="The upstream URL.")
    customer_id: str | None = Field(alias="customerId", description="The customer, when known.")
    customer_name: str | None = Field(alias="customerName", description="The customer's name, when known.")
    status_code: int | None = Field(alias="statusCode", description="The upstream status; null when none came.")
    response_time_seconds: float | None = Field(alias="responseTimeSeconds", description="Response time.")
    error: str | None = Field(description="The error, if any.")
    identifier: str | None = Field(description="The request identifier.")
    attempt: int | None = Field(description="The attempt number.")
    customer_count: int | None = Field(alias="customerCount", description="Customers in a batched request.")


class LogPage(ApiModel):
    items: list[LogEntrySummary] = Field(description="Entries, newest first.")
    continuation_token: str | None = Field(alias="continuationToken", description="Pass it to get the next page.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read for this page.")


class LogEntry(LogEntrySummary):
    request_body: str | None = Field(alias="requestBody", description="The request body (secrets redacted).")
    response_body: str | None = Field(alias="responseBody", description="The response body (secrets redacted).")
    request_body_scope: Literal["request", "customer"] = Field(
        alias="requestBodyScope", description="customer when the body is this customer's slice of a batch.")
    response_body_scope: Literal["request", "customer"] = Field(alias="responseBodyScope",
                                                                description="As requestBodyScope.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read.")

