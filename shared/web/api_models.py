"""Request and response models of the routes beyond the inQuba publish/token ones (see inquba_models.py).

They shape what the handlers answer (`http_responses.model_response` validates a body against its model
and dumps it by alias) and are the schemas of the OpenAPI document (`shared/web/openapi.py`), so the
document describes what the code does. Limits shared with the handlers live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from shared.identifiers import IDENTIFIER_PATTERN, MAX_CUSTOMER_ID_CHARS
from shared.inquba.models import EventRequest, TransactionRequest
from shared.web.parsing import parse_iso_time

MAX_BATCH_ITEMS = 1000
MAX_SYNC_CUSTOMERS = 100
MAX_ASYNC_CUSTOMERS = 10_000
MAX_CUSTOMER_ID_LENGTH = MAX_CUSTOMER_ID_CHARS  # and 500 once percent-encoded: identifiers.customer_id_problem
MAX_CUSTOMER_NAME_LENGTH = 256


class ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


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


class EventBatchRequest(ApiModel):
    events: list[EventRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"1 to {MAX_BATCH_ITEMS:,} events, each as the body of Create Event; identifiers unique.",
    )


class TransactionBatchRequest(ApiModel):
    transactions: list[TransactionRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"1 to {MAX_BATCH_ITEMS:,} transactions, each as the body of Create Transaction.",
    )


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
    status: str = Field(description="queued, pending, synced, rejected, failed or dead-lettered.")


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


class Customer(BaseModel):
    """A source customer; its values are validated by the mapping, and a bad one is `rejected`, not a 400."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=MAX_CUSTOMER_ID_LENGTH,
                    description="The customer's id (source field `id`); at most 500 characters once "
                                "percent-encoded as UTF-8.")
    name: str | None = Field(None, max_length=MAX_CUSTOMER_NAME_LENGTH,
                             description="A display name for the outbound log; not sent.")
    attributes: dict[str, Any] | None = Field(
        None, description="Profile attributes and identifiers by source name; the designer lists those the stored "
                          "mapping reads.")
    events: list[CustomerEvent] | None = Field(None, description="Events to send.")


class InsiderSyncRequest(BaseModel):
    """`{"customers": [...]}`; a single customer object on its own is taken too."""

    model_config = ConfigDict(extra="allow")

    customers: list[Customer] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS,
        description=f"1 to {MAX_SYNC_CUSTOMERS} customers ({MAX_ASYNC_CUSTOMERS:,} with mode=async, ids unique).",
    )


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


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    customers: list[Customer] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS, description=f"1 to {MAX_ASYNC_CUSTOMERS:,} customers."
    )
    mapping: dict[str, Any] | None = Field(None, description="A mapping to try instead of the stored one.")


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


Blank = Annotated[str, Field(pattern=r"^\s*$")]


class LogQueryParameters(ApiModel):
    """Query parameters of GET /outbound-logs (parsed by shared/outbound_log_query.parse_query).

    A parameter given empty is absent, so the patterns take blanks too.
    """

    # Lengths are checked after surrounding spaces are stripped, which JSON Schema cannot say: in descriptions.
    identifier: str | None = Field(None, description="Entries of this request identifier (at most 256 characters).")
    customer_id: str | None = Field(None, alias="customerId", description="Entries of this customer, batched "
                                    "Insider requests included (at most 256 characters).")
    error: str | None = Field(None, description="Entries whose error contains this text (at most 500 characters).")
    status_code: str | None = Field(None, alias="statusCode",
                                    pattern=r"^\s*([1-5][0-9][0-9]|[1-5][xX][xX]|[Nn][Oo][Nn][Ee])?\s*$",
                                    description="A status code (404), a class (5xx) or none (no response).")
    target: str | None = Field(None, pattern=r"^\s*([Ii][Nn][Qq][Uu][Bb][Aa]|[Ii][Nn][Ss][Ii][Dd][Ee][Rr])?\s*$",
                               description="inquba or insider.")
    from_: str | None = Field(None, alias="from", description="Entries at or after this ISO 8601 time.")
    to: str | None = Field(None, description="Entries at or before this ISO 8601 time.")
    limit: Annotated[int, Field(ge=1, le=200)] | Blank | None = Field(None, description="Entries per page, 1 to 200 "
                                                                                       "(50).")
    continuation_token: str | None = Field(None, alias="continuationToken",
                                           description="The continuationToken of the previous page.")


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



# --- Operations: statistics, overview, dead letters (docs/operations.md) ---------------------------------------


IsoTime = Annotated[datetime, PlainValidator(parse_iso_time),
                    WithJsonSchema({"type": "string", "format": "date-time"})]
QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
MAX_DEAD_LETTER_LIMIT = 200


class QueryParameters(BaseModel):
    """Query parameters, validated as sent (an empty one is a 400); unknown ones (`code`) are ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class StatsQueryParameters(QueryParameters):
    from_: IsoTime | None = Field(None, alias="from", description="From this ISO 8601 time (default: 24 hours "
                                  "before `to`); rounded down to the interval.")
    to: IsoTime | None = Field(None, description="Up to this ISO 8601 time (default: now).")
    interval: Literal["5m", "1h"] = Field("5m", description="Bucket size: 5m (a range of at most 2 days) or 1h "
                                          "(at most 35 days).")
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
    queue: str | None = Field(None, pattern=QUEUE_NAME_PATTERN, description="A work queue's name (inquba-events, "
                              "inquba-transactions, insider-sync by default); all three when absent.")
    from_: IsoTime | None = Field(None, alias="from", description="Dead-lettered at or after this ISO 8601 time.")
    to: IsoTime | None = Field(None, description="Dead-lettered at or before this ISO 8601 time.")
    identifier: str | None = Field(None, pattern=IDENTIFIER_PATTERN,
                                   description="Only this identifier (an Insider request's id for its messages).")
    limit: int = Field(50, ge=1, le=MAX_DEAD_LETTER_LIMIT, description="Items per page, 1 to 200 (50).")
    continuation_token: str | None = Field(None, alias="continuationToken",
                                           description="The continuationToken of the previous page.")


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
    queue: str = Field(pattern=QUEUE_NAME_PATTERN, description="The work queue's name, e.g. inquba-events.")
    since: IsoTime = Field(description="Replay what was dead-lettered at or after this ISO 8601 time.")
    until: IsoTime | None = Field(None, description="... and at or before this one (default: now).")
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
