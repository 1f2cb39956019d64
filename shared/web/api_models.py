"""Request and response models of the routes beyond the inQuba publish/token ones (see inquba_models.py).

They shape what the handlers answer (`http_responses.model_response` validates a body against its model
and dumps it by alias) and are the schemas of the OpenAPI document (`shared/web/openapi.py`), so the
document describes what the code does. Limits shared with the handlers live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.identifiers import (
    IDENTIFIER_PATTERN,
    MAX_CUSTOMER_ID_CHARS,
    NOT_BLANK_PATTERN,
    WHITESPACE_PATTERN,
    customer_id_problem,
)
from shared.inquba.models import EventRequest, TransactionRequest
from shared.insider.names import CUSTOM_NAME_PATTERN, DEFAULT_ATTRIBUTES, DEFAULT_IDENTIFIERS
from shared.web.parsing import parse_iso_time

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


# --- Insider ----------------------------------------------------------------------------------------------------


class CustomerEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Source event name, as mapped in the Insider mapping.")
    timestamp: str = Field(description="When it happened, ISO 8601 (e.g. 2026-01-10T21:35:20Z).")
    params: dict[str, Any] | None = Field(
        None, description="Event parameters by source name; the designer lists those the stored mapping reads.")


class CustomerRecord(BaseModel):
    """A source customer as for sync, of which only the id, name and attributes are read (to find its identifiers).

    Other fields (a sync record's events) are taken and ignored.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=MAX_CUSTOMER_ID_LENGTH, pattern=NOT_BLANK_PATTERN,
                    description="The customer's id (source field `id`): not blank, and at most 500 characters "
                                "once percent-encoded as UTF-8.")
    name: str | None = Field(None, max_length=MAX_CUSTOMER_NAME_LENGTH,
                             description="A display name for the outbound log; not sent.")
    attributes: dict[str, Any] | None = Field(
        None, description="Profile attributes and identifiers by source name; the designer lists those the stored "
                          "mapping reads.")

    @field_validator("id")
    @classmethod
    def _table_key(cls, value: str) -> str:
        """The id becomes a Table key (outbound log partitions, batch items)."""
        if problem := customer_id_problem(value):
            raise ValueError(problem)
        return value


class Customer(CustomerRecord):
    """A source customer; its values are validated by the mapping, and a bad one is `rejected`, not a 400."""

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
    mapping_warnings: list[FieldProblem] = Field(
        alias="mappingWarnings",
        description="What the mapping sends that the app cannot check (a default: true attribute it does not "
        "list, arrays of both append modes); field is a JSON Pointer into the mapping.",
    )


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
    erased_at: str | None = Field(alias="erasedAt", description="When the customer's personal data was removed "
                                                                "from the entry (an erasure); null otherwise.")


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



# --- Operations: statistics, overview, dead letters (docs/operations.md) ---------------------------------------


# A time before 1970 is 1970 (no record is older), one in or after 2999 the last moment before it.
IsoTime = Annotated[datetime, PlainValidator(parse_iso_time),
                    WithJsonSchema({"type": "string", "format": "date-time"})]
CLAMPED = " A time before 1970 means 1970, one after 2998 the end of 2998."
QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
MAX_DEAD_LETTER_LIMIT = 200


class QueryParameters(BaseModel):
    """Query parameters, validated as sent (an empty one is a 400); unknown ones (`code`) are ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class StatsQueryParameters(QueryParameters):
    from_: IsoTime | None = Field(None, alias="from", description="From this ISO 8601 time (default: 24 hours "
                                  "before `to`); rounded down to the interval; not later than `to`." + CLAMPED)
    to: IsoTime | None = Field(None, description="Up to this ISO 8601 time (default: now)." + CLAMPED)
    interval: Literal["5m", "1h"] = Field("5m", description="Bucket size: 5m (a range `from`-`to` of at most 2 "
                                          "days) or 1h (at most 35 days); a longer range is a 400.")
    group_by: Literal["operation", "target"] = Field("operation", alias="groupBy",
                                                     description="One series per target and operation, or per "
                                                                 "target.")
    target: Literal["inquba", "insider"] | None = Field(None, description="Only this target.")
    operation: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,39}$",
                                  description="Only this operation (token, event, transaction, upsert, ...).")


class StatsOutcomes(ApiModel):
    ok: int = Field(alias="2xx", description="Answers 200-299.")
    redirect: int = Field(alias="3xx", description="Answers 300-399 (the app follows no redirect).")
    client_error: int = Field(alias="4xx", description="Answers 400-499.")
    server_error: int = Field(alias="5xx", description="Answers 500-599.")
    none: int = Field(description="No answer: a timeout or a network error.")
    other: int = Field(description="Any other status code.")


class StatsTally(ApiModel):
    count: int = Field(description="Calls made.")
    outcomes: StatsOutcomes = Field(description="Calls by outcome.")
    p50_ms: float | None = Field(alias="p50Ms", description="Median response time (ms) from the histogram; null "
                                 "without calls.")
    p95_ms: float | None = Field(alias="p95Ms", description="95th percentile response time (ms) from the histogram.")


class StatsBucket(StatsTally):
    start: str = Field(description="The bucket's start (ISO 8601, UTC).")


class StatsTotal(StatsTally):
    histogram: list[int] = Field(description="Calls per latency bucket: one per bound of `latencyBoundsMs` (at "
                                 "most that many ms) and one more for slower.")


class StatsSeries(ApiModel):
    target: str = Field(description="inquba or insider.")
    operation: str | None = Field(None, description="The operation (absent with groupBy=target).")
    total: StatsTotal = Field(description="The whole range.")
    buckets: list[StatsBucket] = Field(description="Buckets with calls, oldest first (the others had none).")


class StatsResponse(ApiModel):
    from_: str = Field(alias="from", description="The range asked for (ISO 8601, UTC).")
    to: str = Field(description="The range asked for (ISO 8601, UTC).")
    interval: Literal["5m", "1h"] = Field(description="The bucket size.")
    group_by: Literal["operation", "target"] = Field(alias="groupBy", description="How the series are split.")
    latency_bounds_ms: list[int] = Field(alias="latencyBoundsMs", description="Upper bounds of the histogram's "
                                         "buckets (ms).")
    series: list[StatsSeries] = Field(description="One per target (and operation) with calls in the range.")
    entities_read: int = Field(alias="entitiesRead", description="Hourly rollup entities read.")


class QueueState(ApiModel):
    name: str = Field(description="The queue's name.")
    setting: str = Field(description="The app setting that names it.")
    depth: int | None = Field(description="Approximate messages waiting (null when it could not be read).")
    poison_name: str = Field(alias="poisonName", description="Its poison queue.")
    poison_depth: int | None = Field(alias="poisonDepth", description="Approximate messages in the poison queue.")
    dead_letter_records: bool = Field(alias="deadLetterRecords", description="Whether the app records its dead "
                                      "letters (listed and replayed by /dead-letters).")


class InsiderPauseState(ApiModel):
    configured: bool = Field(description="Whether Insider is configured.")
    paused: bool = Field(description="Whether sending is paused after a 403 (POST /insider/resume lifts it).")
    since: str | None = Field(description="When the pause began.")
    error: str | None = Field(description="Insider's answer that paused it.")


class InqubaTokenState(ApiModel):
    configured: bool = Field(description="Whether inQuba is configured.")
    cached: bool = Field(description="Whether a token is in the shared cache.")
    expires_at: str | None = Field(None, alias="expiresAt", description="When the cached token expires.")
    expires_in_seconds: int | None = Field(None, alias="expiresInSeconds", description="Seconds until then.")
    age_seconds: int | None = Field(None, alias="ageSeconds", description="Seconds since it was fetched.")
    lifetime_known: bool | None = Field(None, alias="lifetimeKnown",
                                        description="false when inQuba sent no expires_in (a default lifetime).")
    fresh: bool | None = Field(None, description="Whether it is used as it is (not within the refresh skew).")


class OperationsOverview(ApiModel):
    generated_at: str = Field(alias="generatedAt", description="When this was read (ISO 8601, UTC).")
    queues: list[QueueState] = Field(description="Every queue the app reads, with its poison queue.")
    insider: InsiderPauseState = Field(description="The Insider connection's pause.")
    inquba_token: InqubaTokenState = Field(alias="inqubaToken", description="The inQuba token cache (never the "
                                           "token).")
    operations_auth: Literal["function-key", "entra"] = Field(alias="operationsAuth",
                                                              description="How the operations routes are opened.")


class DeadLetterQueryParameters(QueryParameters):
    queue: str | None = Field(None, pattern=QUEUE_NAME_PATTERN, description="One of the app's work queues (its "
                              "settings name them: inquba-events, inquba-transactions, insider-sync by default); "
                              "another name is a 400 listing them. All three when absent.")
    from_: IsoTime | None = Field(None, alias="from", description="Dead-lettered at or after this ISO 8601 time; "
                                  "not later than `to`." + CLAMPED)
    to: IsoTime | None = Field(None, description="Dead-lettered at or before this ISO 8601 time." + CLAMPED)
    identifier: str | None = Field(None, pattern=IDENTIFIER_PATTERN,
                                   description="Only this identifier (an Insider request's id for its messages).")
    limit: int = Field(50, ge=1, le=MAX_DEAD_LETTER_LIMIT, description="Items per page, 1 to 200 (50).")
    continuation_token: ContinuationToken | None = Field(
        None, alias="continuationToken", description="The continuationToken of the previous page, with the same "
        "filters (another is a 400).")


class DeadLetterItem(ApiModel):
    id: str = Field(description="The record's id (newest sort first).")
    queue: str = Field(description="The work queue it was given up on.")
    identifier: str | None = Field(description="The item's identifier (an Insider request's id); null for a "
                                   "message that could not be read.")
    kind: Literal["event", "transaction", "insider", "unknown"] = Field(description="What the message holds.")
    dead_lettered_at: str = Field(alias="deadLetteredAt", description="When it was dead-lettered (ISO 8601, UTC).")
    status: str = Field(description="failed (refused for good) or dead-lettered (out of attempts).")
    upstream_status: int | None = Field(alias="upstreamStatus", description="The last upstream status code; null "
                                        "for no answer or none sent.")
    error: str | None = Field(description="Why it was given up.")
    attempts: int | None = Field(description="Delivery attempts made.")
    customer_count: int | None = Field(alias="customerCount", description="Customers in an Insider message.")
    replayed_at: str | None = Field(alias="replayedAt", description="When it was moved back to its work queue; null "
                                    "while it waits.")


class DeadLetterPage(ApiModel):
    items: list[DeadLetterItem] = Field(description="Dead letters, newest first.")
    continuation_token: str | None = Field(alias="continuationToken", description="Pass it to get the next page.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read for this page.")


class DeadLetterReplayRequest(ApiModel):
    queue: str = Field(min_length=3, max_length=63, pattern=QUEUE_NAME_PATTERN,
                       description="One of the app's work queues (its settings name "
                       "them: inquba-events, inquba-transactions, insider-sync by default); another name is a 400 "
                       "listing them.")
    since: IsoTime = Field(description="Replay what was dead-lettered at or after this ISO 8601 time; not later "
                           "than `until`." + CLAMPED)
    until: IsoTime | None = Field(None, description="... and at or before this one (default: now)." + CLAMPED)
    identifier: str | None = Field(None, pattern=IDENTIFIER_PATTERN, description="Only this identifier.")


class ReplayedItem(ApiModel):
    id: str = Field(description="The dead letter's record id.")
    identifier: str | None = Field(description="Its identifier.")
    dead_lettered_at: str = Field(alias="deadLetteredAt", description="When it had been dead-lettered.")


class DeadLetterReplay(ApiModel):
    queue: str = Field(description="The work queue.")
    since: str = Field(description="The window's start.")
    until: str = Field(description="The window's end.")
    moved: int = Field(description="How many dead letters were put back on the work queue.")
    items: list[ReplayedItem] = Field(description="Each one moved.")
    more: bool = Field(description="true when the window holds more than one call moves (1,000): call again.")
# --- Insider: erase, delete attributes, profile ---------------------------------------------------------------

MAX_ERASE_CUSTOMERS = 100
MAX_ATTRIBUTE_DELETE_CUSTOMERS = 10_000
MAX_ATTRIBUTE_DELETE_NOW = 100  # answered at once; more go through the queue (202)
MAX_ATTRIBUTE_NAMES = 100
MAX_VALUES_PER_ATTRIBUTE = 1000
MAX_PROFILE_NAMES = 100
# §8: "Identifier attributes cannot be deleted here": every other default attribute can.
DELETABLE_ATTRIBUTES = tuple(a for a in DEFAULT_ATTRIBUTES if a not in DEFAULT_IDENTIFIERS)
CustomName = Annotated[str, Field(pattern=CUSTOM_NAME_PATTERN, max_length=128)]


def unique_customer_ids(customers: list[CustomerRecord]) -> list[CustomerRecord]:
    """Customer ids are Table keys (batch items, log partitions): each once per request."""
    seen: dict[str, int] = {}
    for index, customer in enumerate(customers):
        if customer.id in seen:
            raise ValueError(f"customers[{index}].id repeats customers[{seen[customer.id]}].id")
        seen[customer.id] = index
    return customers


def customer_records(customers: list[CustomerRecord]) -> list[dict[str, Any]]:
    """The validated customers as the mapping reads them (source records, extra fields kept)."""
    return [c.model_dump(mode="json", by_alias=True, exclude_unset=True) for c in customers]


class InsiderEraseRequest(ApiModel):
    """Erase customers from Insider (and from the app's own copies)."""

    customers: Annotated[list[CustomerRecord], AfterValidator(unique_customer_ids)] = Field(
        min_length=1, max_length=MAX_ERASE_CUSTOMERS,
        description=f"1 to {MAX_ERASE_CUSTOMERS} customers, as for sync (ids unique): their Insider identifiers come "
                    "from the stored mapping.")
    action: Literal["delete", "anonymize"] = Field(
        description="delete: Insider deletes the user; anonymize: Insider deletes the attributes marked PII.")


class ErasedCopies(ApiModel):
    outbound_log_entries: int = Field(alias="outboundLogEntries",
                                      description="The customer's outbound log entries, personal data removed.")
    delivery_records: int = Field(alias="deliveryRecords", description="Delivery records cleared.")
    batch_items: int = Field(alias="batchItems", description="Batch items whose payload was removed.")


class CustomerOutcome(ApiModel):
    """One customer's result of a call to Insider; each route's model says which statuses it answers."""

    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: str
    errors: list[SyncProblem] = Field(description="Why it was rejected or failed (or is unconfirmed).")
    retryable: bool = Field(description="Whether trying again may succeed (throttling, 5xx, timeout, pause, an "
                                        "unconfirmed reply).")


class CustomerEraseResult(CustomerOutcome):
    status: Literal["erased", "not-found", "failed", "rejected"] = Field(
        description="erased; not-found (Insider answered 404); failed (Insider's error); rejected (the mapping "
                    "yields no identifier: nothing was sent).")
    identifier: str | None = Field(None, description="The erase request's identifier in the outbound log.")
    copies: ErasedCopies | None = Field(None, description="What of the app's own copies was erased (erased and "
                                                          "not-found customers).")


class InsiderEraseResponse(ApiModel):
    action: Literal["delete", "anonymize"] = Field(description="The action taken.")
    results: list[CustomerEraseResult] = Field(description="One result per customer, in input order.")


class InsiderErasePausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    action: Literal["delete", "anonymize"] = Field(description="The action asked for.")
    results: list[CustomerEraseResult] = Field(description="One result per customer, in input order.")


Scalar = str | int | float | bool


Values = Annotated[list[Scalar], Field(min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE)]


class NamedValues(ApiModel):
    name: CustomName = Field(description="The custom array attribute (snake_case name).")
    values: Values = Field(description=f"The values to remove from it (1 to {MAX_VALUES_PER_ATTRIBUTE:,}).")


def _names_as_keys(schema: dict[str, Any]) -> None:
    """A map keyed by custom names: every key must be one (propertyNames), not only those matching get a schema."""
    ((pattern, values),) = schema.pop("patternProperties").items()
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
    schema["additionalProperties"] = values


class CustomAttributeDeletion(ApiModel):
    whole: list[CustomName] = Field(default_factory=list, max_length=MAX_ATTRIBUTE_NAMES,
                                    description="Custom attributes to delete whole (snake_case names).")
    # one form's problems only, named custom.partial.list[0].name or custom.partial.map.<name>
    partial: Annotated[
        Annotated[list[NamedValues], Field(max_length=MAX_ATTRIBUTE_NAMES), Tag("list")]
        | Annotated[dict[CustomName, Values], Field(max_length=MAX_ATTRIBUTE_NAMES, json_schema_extra=_names_as_keys),
                    Tag("map")],
        Discriminator(lambda value: "list" if isinstance(value, list) else "map")] = Field(
        default_factory=dict,
        description="Values to remove from custom array attributes: a list of {name, values}, or Insider's "
                    f"map of name -> values (1 to {MAX_VALUES_PER_ATTRIBUTE:,} each).")

    @field_validator("partial")
    @classmethod
    def _partial(cls, value: list[NamedValues] | dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Insider's form, the map (whose names and counts its type checks as the list's)."""
        if isinstance(value, list):
            merged: dict[str, list[Any]] = {}
            for item in value:
                merged.setdefault(item.name, []).extend(item.values)
            return merged
        return value


class DefaultPartialDeletion(ApiModel):
    """Values to remove from Insider's default array attribute (§2.1: a number array, `list_id` in §8's example)."""

    static_segment_id: list[int | float] | None = Field(None, min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE,
                                                  description="Contact list ids to remove.")
    list_id: list[int | float] | None = Field(None, min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE,
                                        description="Contact list ids to remove (the name §8's example uses).")


def _names_something(schema: dict[str, Any]) -> None:
    """The document says what `_something` enforces: a non-empty `whole`, a `partial` with a list, or a `custom`
    with a non-empty `whole` or `partial` (options without a type: a rule across fields, as the token's)."""
    def listed(*names: str) -> list[dict[str, Any]]:
        return [{"required": [name], "properties": {name: {"type": "array"}}} for name in names]

    schema["anyOf"] = [
        {"required": ["whole"], "properties": {"whole": {"minItems": 1}}},
        {"required": ["partial"], "properties": {"partial": {"type": "object",
                                                             "anyOf": listed(*DefaultPartialDeletion.model_fields)}}},
        {"required": ["custom"], "properties": {"custom": {"type": "object", "anyOf": [
            {"required": ["whole"], "properties": {"whole": {"minItems": 1}}},
            {"required": ["partial"], "properties": {"partial": {"minItems": 1, "minProperties": 1}}}]}}},
    ]


class AttributeDeletion(ApiModel):
    """What to delete of each customer, as Insider's delete user attribute takes it (§8); identifiers cannot be.
    At least one attribute is named: in `whole`, `partial` or `custom`."""

    model_config = ConfigDict(json_schema_extra=_names_something)

    whole: list[Literal[DELETABLE_ATTRIBUTES]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=MAX_ATTRIBUTE_NAMES,
        description="Default attributes to delete whole (not email, phone_number or uuid: identifiers).")
    partial: DefaultPartialDeletion | None = Field(None, description="Values to remove from default array attributes.")
    custom: CustomAttributeDeletion | None = Field(None, description="Custom attributes to delete, whole or values.")

    @model_validator(mode="after")
    def _something(self) -> AttributeDeletion:
        if not self.fragment():
            raise ValueError("name at least one attribute in whole, partial or custom")
        return self

    def fragment(self) -> dict[str, Any]:
        """The per-user part of Insider's body: `whole`, `partial`, `custom: {whole, partial}`; empty ones left out."""
        out: dict[str, Any] = {}
        if self.whole:
            out["whole"] = list(dict.fromkeys(self.whole))
        partial = self.partial.model_dump(exclude_none=True) if self.partial else {}
        if partial:
            out["partial"] = partial
        custom = {k: v for k, v in (self.custom.model_dump() if self.custom else {}).items() if v}
        if custom:
            out["custom"] = custom
        return out


class InsiderAttributesDeleteRequest(AttributeDeletion):
    customers: Annotated[list[CustomerRecord], AfterValidator(unique_customer_ids)] = Field(
        min_length=1, max_length=MAX_ATTRIBUTE_DELETE_CUSTOMERS,
        description=f"1 to {MAX_ATTRIBUTE_DELETE_CUSTOMERS:,} customers, as for sync (ids unique); up to "
                    f"{MAX_ATTRIBUTE_DELETE_NOW} are answered at once, more are queued (202).")


class CustomerAttributesDeleteResult(CustomerOutcome):
    status: Literal["deleted", "rejected", "failed", "unconfirmed"] = Field(
        description="deleted; rejected (no identifier: not sent); failed (Insider's per-user error or the "
                    "request's); unconfirmed (Insider's reply did not show it applied).")


class InsiderAttributesDeleteResponse(ApiModel):
    identifiers: list[str] = Field(description="The identifiers of the requests sent (outbound log), 1,000 users "
                                               "and 5 MB each.")
    results: list[CustomerAttributesDeleteResult] = Field(description="One result per customer, in input order.")


class InsiderAttributesPausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    identifiers: list[str] = Field(description="The identifiers of the requests sent.")
    results: list[CustomerAttributesDeleteResult] = Field(description="One result per customer, in input order.")


class InsiderProfileRequest(ApiModel):
    customer: CustomerRecord = Field(description="The customer, as for sync: its Insider identifiers come from the "
                                           "stored mapping.")
    attributes: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        None, min_length=1, max_length=MAX_PROFILE_NAMES,
        description='Insider attribute names to read (custom ones as c_<name>); ["*"], every attribute, when absent.')
    events: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        None, min_length=1, max_length=MAX_PROFILE_NAMES,
        description="Insider event names to read (every parameter of each); none when absent.")
    events_from: AwareDatetime | None = Field(None, alias="eventsFrom",
                                              description="Events at or after this time (ISO 8601); from the start "
                                                          "when absent.")
    events_to: AwareDatetime | None = Field(None, alias="eventsTo",
                                            description="Events at or before this time (ISO 8601); now when absent.")


class InsiderProfileResponse(ApiModel):
    customer_id: str = Field(alias="customerId", description="The customer's id.")
    identifier: str = Field(description="The profile request's identifier in the outbound log.")
    identifiers: dict[str, Any] = Field(description="The Insider identifiers asked for, as the mapping built them.")
    found: bool = Field(description="false when Insider has no user with these identifiers (its 404).")
    profile: dict[str, Any] | None = Field(description="Insider's answer as it came: attributes, events (null when "
                                                       "not found).")


class InsiderUpstreamProblem(ProblemDetails):
    """Insider refused, throttled or did not answer (502, 503, 504)."""

    identifier: str | None = Field(None, description="The request's identifier in the outbound log.")
    upstream_status: int | None = Field(
        None, alias="upstreamStatus", description="Insider's status code; null on a network error or timeout.")
    upstream_body: str | None = Field(None, alias="upstreamBody", description="Insider's answer (secrets redacted).")
