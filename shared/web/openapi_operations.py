"""The texts of the OpenAPI document: every operation's id, summary, description, parameters and responses.

`OPERATIONS` is the one place that documents a route: function name -> HTTP method -> `Operation`. The builder
(`shared/web/openapi.py`) joins it with the routes the app really has; the models it names are the ones that
parse the requests and shape the responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared.identifiers import IDENTIFIER_PATTERN
from shared.inquba.models import (
    MAX_ATTRIBUTES,
    EventRequest,
    PublishResponse,
    TokenRequest,
    TokenResponse,
    TransactionRequest,
)
from shared.web import api_models as m
from shared.web.problems import PROBLEM_MEDIA_TYPE

REF_PREFIX = "#/components/schemas/"
Visibility = Literal["important", "advanced", "internal"]
SchemaSource = type[BaseModel] | dict[str, Any] | tuple[type[BaseModel], ...]


@dataclass(frozen=True)
class Param:
    name: str
    location: Literal["query", "path", "header"]
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    title: str | None = None  # the connector's field title (x-ms-summary); derived from the name when None
    visibility: Visibility = "advanced"


@dataclass(frozen=True)
class Resp:
    description: str
    schema: SchemaSource | None = None  # a model, a JSON schema, or models of which the body is one (anyOf)
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()  # names in HEADERS; a trailing "?" marks one that is not always sent


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    description: str
    tag: str
    responses: dict[int, Resp]
    body: SchemaSource | None = None
    body_required: bool = True
    body_limit: Literal["request", "batch", "mode"] = "request"  # mode: request now, batch with mode=async
    params: tuple[Param, ...] = ()
    connector: bool = True  # an action of the Power Platform connector
    visibility: Visibility = "important"
    body_title: str = "Body"


HEADERS: dict[str, dict[str, Any]] = {
    "Location": {"description": "Where to poll the request's status (`?code=` added when the key came that way).",
                 "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before polling (or retrying).",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "x-identifier": {"description": "The request's identifier.", "schema": {"type": "string"}},
    "x-duplicate": {"description": "`true` when the identifier was already delivered and nothing was sent.",
                    "schema": {"type": "string", "enum": ["true"]}},
    "ETag": {"description": "The mapping's version; send it back as If-Match to replace the mapping.",
             "schema": {"type": "string"}},
    "Cache-Control": {"description": "`no-store`.", "schema": {"type": "string"}},
}

# Descriptions and titles of fields whose models leave them out (shared/inquba/models.py), schema keywords the
# models cannot say, and the connector fields' visibility. Keyed "Schema.property".
CUSTOMER_ID_DOC = ("The customer this is about (at most 256 characters, 500 once percent-encoded as UTF-8); labels "
                   "the outbound log, not sent.")
FIELD_DOCS: dict[str, dict[str, str]] = {
    "EventRequest.eventDefinitionCode": {"description": "The event code you are publishing this request for."},
    "EventRequest.isTest": {"description": "A flag indicating whether this event should be published as test or "
                                           "live."},
    "TransactionRequest.transactionDefinitionCode": {
        "description": "The transaction code you are publishing this request for."},
    "TransactionRequest.isTest": {"description": "A flag indicating whether this transaction should be published "
                                                 "as test or live."},
    "EventRequest.attributes": {"description": f"Event attributes (at most {MAX_ATTRIBUTES}): a list of "
                                               '{"code", "value"}, or a {"code": value} map.'},
    "TransactionRequest.attributes": {"description": f"Transaction attributes (at most {MAX_ATTRIBUTES}): a list "
                                                     'of {"code", "value"}, or a {"code": value} map.'},
    "EventRequest.customerId": {"description": CUSTOMER_ID_DOC},
    "TransactionRequest.customerId": {"description": CUSTOMER_ID_DOC},
    "EventRequest.customerName": {"description": "The customer's name; labels the outbound log, not sent."},
    "TransactionRequest.customerName": {"description": "The customer's name; labels the outbound log, not sent."},
    "EventRequest.identifier": {"description": "Your correlation id (1-128 of A-Z a-z 0-9 . _ : -): a retry with "
                                               "an identifier already delivered sends nothing. Generated when "
                                               "absent."},
    "TransactionRequest.identifier": {"description": "Your correlation id (1-128 of A-Z a-z 0-9 . _ : -): a retry "
                                                     "with an identifier already delivered sends nothing. "
                                                     "Generated when absent."},
    "Attribute.code": {"description": "Attribute code, as defined in inQuba.", "title": "Code"},
    "Attribute.value": {"description": "Attribute value; numbers and booleans are sent as strings.",
                        "title": "Value"},
    "TokenRequest.tenantName": {"description": "Name of Tenant as registered with inQuba. Leave all connection "
                                               "fields empty to use the app's own connection."},
    "TokenRequest.hostUrl": {"description": "Host of Token endpoint must be supplied without scheme name. "
                                            "Eg. api.inqubacx.com", "title": "Host URL"},
    "TokenRequest.username": {"description": "Account Username as supplied by inQuba."},
    "TokenRequest.password": {"description": "Account Password as supplied by inQuba.", "format": "password"},
    "TokenRequest.clientId": {"description": "Client ID as supplied by inQuba.", "title": "Client ID"},
    "TokenRequest.clientSecret": {"description": "Client Secret as supplied by inQuba.", "format": "password"},
    "TokenResponse.accessToken": {"description": "Authorization token that will be used for all API "
                                                 "interactions.", "title": "Authorization Token"},
    "TokenResponse.access_token": {"title": "Access Token"},
    "TokenResponse.tokenType": {"description": "Always Bearer."},
    "TokenResponse.expiresAt": {"description": "When the token expires (ISO 8601, UTC)."},
    "TokenResponse.cached": {"description": "true when the token came from the app's cache."},
    "Customer.id": {"title": "Customer ID"},
    "Customer.name": {"title": "Customer Name"},
    "CustomerRecord.id": {"title": "Customer ID"},
    "CustomerRecord.name": {"title": "Customer Name"},
    "CustomerEvent.params": {"title": "Parameters"},
    "PublishResponse.identifier": {"description": "The identifier of what was published (yours or generated)."},
    "PublishResponse.status": {"description": "delivered."},
    "PublishResponse.upstreamStatus": {"description": "inQuba's status code."},
    "PublishResponse.upstreamBody": {"description": "inQuba's answer, as received."},
    "PublishResponse.responseTimeSeconds": {"description": "How long inQuba took to answer."},
}
# The operation that answers the customer fields the stored mapping reads, and what uses it: the connector's
# designer asks it for the fields of a customer's attributes and of an event's params (x-ms-dynamic-schema).
SOURCE_FIELDS_OPERATION = "GetInsiderSourceFields"
FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "Customer.attributes": {"x-ms-dynamic-schema": {"operationId": SOURCE_FIELDS_OPERATION, "parameters": {},
                                                    "value-path": "attributes"}},
    "CustomerRecord.attributes": {"x-ms-dynamic-schema": {"operationId": SOURCE_FIELDS_OPERATION, "parameters": {},
                                                          "value-path": "attributes"}},
    "CustomerEvent.params": {"x-ms-dynamic-schema": {"operationId": SOURCE_FIELDS_OPERATION, "parameters": {},
                                                     "value-path": "eventParams"}},
    "PreviewRequest.mapping": {"anyOf": [{"$ref": REF_PREFIX + "InsiderMapping"}, {"type": "null"}]},
}
# The few fields a flow author needs, shown first (important); every other field is advanced, except that a
# required input is always important (the designer must not hide it). Outputs count only when listed here.
FIELD_VISIBILITY: dict[str, Visibility] = {
    # inputs
    "EventRequest.isTest": "important",
    "EventRequest.attributes": "important",
    "TransactionRequest.isTest": "important",
    "TransactionRequest.attributes": "important",
    "Attribute.code": "important",
    "Attribute.value": "important",
    # the certified connector's six inputs of Acquire Access Token (all six, or none for the app's connection)
    "TokenRequest.tenantName": "important",
    "TokenRequest.hostUrl": "important",
    "TokenRequest.username": "important",
    "TokenRequest.password": "important",
    "TokenRequest.clientId": "important",
    "TokenRequest.clientSecret": "important",
    "Customer.attributes": "important",
    "CustomerRecord.attributes": "important",
    "Customer.events": "important",
    "CustomerEvent.params": "important",
    # outputs
    "PublishResponse.identifier": "important",
    "PublishResponse.status": "important",
    "PublishResponse.upstreamBody": "important",
    "TokenResponse.accessToken": "important",
    "BatchAccepted.batchId": "important",
    "BatchAccepted.accepted": "important",
    "RequestStatus.status": "important",
    "RequestStatus.items": "important",
    "ItemStatus.identifier": "important",
    "ItemStatus.status": "important",
    "CustomerStatus.customerId": "important",
    "CustomerStatus.status": "important",
    "DeliveryStatus.status": "important",
    "ReplayAccepted.batchId": "important",
    "InsiderSyncResponse.results": "important",
    "InsiderSyncAccepted.requestId": "important",
    "CustomerSyncResult.customerId": "important",
    "CustomerSyncResult.status": "important",
    "CustomerSyncResult.errors": "important",
    "PreviewResponse.results": "important",
    "PreviewResult.customerId": "important",
    "PreviewResult.status": "important",
    "InsiderEraseRequest.customers": "important",
    "InsiderEraseRequest.action": "important",
    "InsiderEraseResponse.results": "important",
    "CustomerEraseResult.customerId": "important",
    "CustomerEraseResult.status": "important",
    "CustomerEraseResult.errors": "important",
    "InsiderAttributesDeleteRequest.customers": "important",
    "InsiderAttributesDeleteRequest.whole": "important",
    "InsiderAttributesDeleteResponse.results": "important",
    "CustomerAttributesDeleteResult.customerId": "important",
    "CustomerAttributesDeleteResult.status": "important",
    "CustomerAttributesDeleteResult.errors": "important",
    "InsiderProfileRequest.customer": "important",
    "InsiderProfileResponse.found": "important",
    "InsiderProfileResponse.profile": "important",
    "LogPage.items": "important",
    "LogPage.continuationToken": "important",
    "LogEntrySummary.id": "important",
    "LogEntrySummary.statusCode": "important",
    "LogEntrySummary.error": "important",
    "LogEntry.requestBody": "important",
    "LogEntry.responseBody": "important",
    "HealthReport.status": "important",
}


def problem_response(description: str, schema: SchemaSource = m.ProblemDetails, headers: tuple[str, ...] = ()) -> Resp:
    return Resp(description, schema, PROBLEM_MEDIA_TYPE, headers)


BAD_REQUEST = problem_response("Invalid body or parameters; `errors` names every bad field.")
NOT_FOUND = problem_response("No such batch, request, identifier or entry.")
NOT_CONFIGURED = problem_response("The app is not configured for this upstream (`settings` names what is missing).")
UPSTREAM_ERRORS = {
    502: problem_response("inQuba refused the call, or a network error; `hint` explains inQuba's documented statuses.",
                  m.UpstreamProblem, ("x-identifier?",)),
    503: problem_response("inQuba throttled beyond a short inline retry (`Retry-After` passed on), or the app is not "
                  "configured for inQuba.", (m.UpstreamProblem, m.ProblemDetails), ("Retry-After?", "x-identifier?")),
    504: problem_response("inQuba did not answer within UPSTREAM_TIMEOUT_SECONDS.", m.UpstreamProblem,
                          ("x-identifier?",)),
}
ACCEPTED_HEADERS = ("Location", "Retry-After")
PAGE = {200: Resp("The page.", {"type": "string"}, "text/html")}  # a static page of the app
IDENTIFIER_SCHEMA = {"type": "string", "pattern": IDENTIFIER_PATTERN}
ASYNC_NOTE = (" Answers 202 with `Location` and `Retry-After`; Logic Apps' and Power Automate's HTTP action poll "
              "the Location until the request completes (asynchronous pattern).")

def _query_params(model: type[BaseModel]) -> tuple[Param, ...]:
    """A query model's fields as query parameters (JSON Schema per field, nulls left out)."""
    schema = model.model_json_schema(by_alias=True)
    params = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        description = prop.pop("description", "")
        options = [o for o in prop.pop("anyOf", [prop]) if o.get("type") != "null"]
        params.append(Param(name, "query", description, options[0] if len(options) == 1 else {"anyOf": options}))
    return tuple(params)


OPERATIONS: dict[str, dict[str, Operation]] = {
    "health": {"GET": Operation(
        "GetHealth", "Check Health",
        "The app's version and whether blob, queue and table storage answer. Needs no function key.",
        "Health",
        {200: Resp("Every storage service answers.", m.HealthReport),
         503: Resp("A storage service does not answer; `checks` names it.", m.HealthReport)},
        visibility="advanced")},
    "inquba_token": {"POST": Operation(
        "AcquireAccessToken", "Acquire Access Token",
        "Authenticate with the inQuba API and receive an authorization token. With no fields, the app's own "
        "connection is used; otherwise give all six connection fields (the host must be an allowed inQuba token "
        "host). The token is cached and shared by every instance of the app.",
        "inQuba",
        {200: Resp("The token.", TokenResponse, headers=("Cache-Control",)), 400: BAD_REQUEST, **UPSTREAM_ERRORS},
        body=TokenRequest, body_required=False, body_title="Connection")},
    "inquba_publish_event": {"POST": Operation(
        "PublishEvent", "Create Event",
        "Publish an event record to the inQuba API now. The app acquires and caches the bearer token itself.",
        "inQuba",
        {200: Resp("Delivered.", PublishResponse, headers=("x-identifier", "x-duplicate?")), 400: BAD_REQUEST,
         **UPSTREAM_ERRORS},
        body=EventRequest, body_title="Event")},
    "inquba_publish_transaction": {"POST": Operation(
        "PublishTransaction", "Create Transaction",
        "Publish a transaction to the inQuba Journey API now. The app acquires and caches the bearer token itself.",
        "inQuba",
        {200: Resp("Delivered.", PublishResponse, headers=("x-identifier", "x-duplicate?")), 400: BAD_REQUEST,
         **UPSTREAM_ERRORS},
        body=TransactionRequest, body_title="Transaction")},
    "inquba_event_batch": {"POST": Operation(
        "PublishEventBatch", "Create Events in Bulk",
        f"Queue 1 to {m.MAX_BATCH_ITEMS:,} events for delivery with retries. Every item is validated first: one "
        "bad item answers 400 naming its index and field, and nothing is queued." + ASYNC_NOTE,
        "inQuba",
        {202: Resp("Queued.", m.BatchAccepted, headers=ACCEPTED_HEADERS), 400: BAD_REQUEST, 503: NOT_CONFIGURED},
        body=m.EventBatchRequest, body_limit="batch", body_title="Events")},
    "inquba_transaction_batch": {"POST": Operation(
        "PublishTransactionBatch", "Create Transactions in Bulk",
        f"Queue 1 to {m.MAX_BATCH_ITEMS:,} transactions for delivery with retries. Every item is validated first: "
        "one bad item answers 400 naming its index and field, and nothing is queued." + ASYNC_NOTE,
        "inQuba",
        {202: Resp("Queued.", m.BatchAccepted, headers=ACCEPTED_HEADERS), 400: BAD_REQUEST, 503: NOT_CONFIGURED},
        body=m.TransactionBatchRequest, body_limit="batch", body_title="Transactions")},
    "request_status": {"GET": Operation(
        "GetRequestStatus", "Get Request Status",
        "Progress of a batch or a queued Insider request: 202 while any item is queued or pending, 200 with every "
        "item once all are final. Given an item identifier instead (an item queued without a batch, or published "
        "with your own identifier), that item's delivery record.",
        "Requests",
        {200: Resp("Completed (every item), or one item's delivery record.", (m.RequestStatus, m.DeliveryStatus)),
         202: Resp("Still running.", m.RequestStatus, headers=ACCEPTED_HEADERS),
         400: BAD_REQUEST, 404: NOT_FOUND},
        params=(Param("requestId", "path", "The batch id, Insider request id or item identifier.",
                      IDENTIFIER_SCHEMA, required=True, title="Request ID", visibility="important"),))},
    "request_replay": {"POST": Operation(
        "ReplayRequest", "Replay Failed Items",
        "Put a batch's failed and dead-lettered items (or the one named) back on the queue with a fresh attempt "
        "count." + ASYNC_NOTE,
        "Requests",
        {202: Resp("Re-queued.", m.ReplayAccepted, headers=ACCEPTED_HEADERS), 400: BAD_REQUEST, 404: NOT_FOUND},
        params=(Param("batchId", "path", "The batch id.", IDENTIFIER_SCHEMA, required=True, title="Batch ID",
                      visibility="important"),
                Param("identifier", "query", "Replay only this item.", IDENTIFIER_SCHEMA)),
        visibility="advanced")},
    "insider_mapping": {
        "GET": Operation(
            "GetInsiderMapping", "Get Insider Mapping",
            "The mapping of identifiers, attributes and events in force, with its ETag (\"default\" while the "
            "default mapping is in use).",
            "Insider",
            {200: Resp("The mapping.", {"$ref": REF_PREFIX + "InsiderMapping"}, headers=("ETag",))},
            visibility="advanced"),
        "PUT": Operation(
            "UpdateInsiderMapping", "Update Insider Mapping",
            "Replace the mapping. If-Match with the ETag you read is required, so two editors cannot overwrite "
            "each other; an invalid document answers 400 with every problem as a JSON pointer.",
            "Insider",
            {200: Resp("Stored; the mapping in canonical form.", {"$ref": REF_PREFIX + "InsiderMapping"},
                       headers=("ETag",)),
             400: BAD_REQUEST,
             412: problem_response("Someone saved the mapping since you read it: GET it again."),
             428: problem_response("If-Match is missing.")},
            body={"$ref": REF_PREFIX + "InsiderMapping"}, body_title="Mapping",
            params=(Param("If-Match", "header", "The ETag from Get Insider Mapping.",
                          {"type": "string", "pattern": r'^(\*|(W/)?"[\x21\x23-\x7E]{0,250}")$'}, required=True,
                          title="ETag", visibility="important"),),
            visibility="advanced")},
    "insider_mapping_schema": {"GET": Operation(
        SOURCE_FIELDS_OPERATION, "Get Insider Source Fields",
        "The customer fields the stored mapping reads, as JSON schemas: `attributes` (the identifier and profile "
        "sources) and `eventParams` (every mapped event's parameter sources), each field with its type and where "
        "it is sent. The connector's designer reads it to show these fields in Sync Customers to Insider and "
        "Preview Insider Upsert (x-ms-dynamic-schema).",
        "Insider",
        {200: Resp("The schemas.", m.InsiderSourceFields)},
        visibility="internal")},
    "insider_mapping_preview": {"POST": Operation(
        "PreviewInsiderUpsert", "Preview Insider Upsert",
        "The exact upsert bodies some customers would produce, and each customer's validation result, with the "
        "stored mapping or the one given. Nothing is sent.",
        "Insider",
        {200: Resp("The bodies and results.", m.PreviewResponse), 400: BAD_REQUEST},
        body=m.PreviewRequest, body_limit="batch", body_title="Customers", visibility="advanced")},
    "insider_sync": {"POST": Operation(
        "SyncInsiderCustomers", "Sync Customers to Insider",
        f"Send 1 to {m.MAX_SYNC_CUSTOMERS} customers to Insider now, in one upsert request: one result per "
        "customer (synced, rejected with field and rule, or failed with Insider's own error). With mode=async, "
        f"queue up to {m.MAX_ASYNC_CUSTOMERS:,} customers (ids unique)." + ASYNC_NOTE,
        "Insider",
        {200: Resp("One result per customer.", m.InsiderSyncResponse, headers=("x-identifier",)),
         202: Resp("Queued (mode=async).", m.InsiderSyncAccepted, headers=ACCEPTED_HEADERS),
         400: BAD_REQUEST,
         503: problem_response("Sending is paused after Insider answered 403 (`results` included), or the app is not "
                       "configured for Insider.", (m.InsiderPausedProblem, m.ProblemDetails),
                       ("Retry-After?", "x-identifier?"))},
        body=m.InsiderSyncRequest, body_limit="mode", body_title="Customers",
        params=(Param("mode", "query", "sync (default): send now; async: queue and answer 202.",
                      {"type": "string", "enum": ["sync", "async"], "default": "sync"}),))},
    "insider_erase": {"POST": Operation(
        "EraseInsiderCustomers", "Erase Customers from Insider",
        f"Erase 1 to {m.MAX_ERASE_CUSTOMERS} customers: Insider deletes each user (delete) or its PII attributes "
        "(anonymize), one request per customer within Insider's rate limits, its Insider identifiers built by the "
        "stored mapping as for a sync. One result per customer: erased, not-found (Insider's 404), failed (Insider's "
        "error) or rejected (no identifier). For erased and not-found customers the app's own copies lose their "
        "personal data too: outbound log entries (both platforms), delivery records and batch items.",
        "Insider",
        {200: Resp("One result per customer.", m.InsiderEraseResponse),
         400: BAD_REQUEST,
         503: problem_response("Sending is paused after Insider answered 403 (`results` included), or the app is not "
                       "configured for Insider.", (m.InsiderErasePausedProblem, m.ProblemDetails), ("Retry-After?",))},
        body=m.InsiderEraseRequest, body_title="Erasure", visibility="advanced")},
    "insider_attributes_delete": {"POST": Operation(
        "DeleteInsiderAttributes", "Delete Insider Attributes",
        "Delete the same attributes of 1 to 10,000 customers (whole default or custom attributes, or values of "
        "array attributes; never identifiers), packed into requests of up to 1,000 users and 5 MB. Up to "
        f"{m.MAX_ATTRIBUTE_DELETE_NOW} customers are answered at once, one result per customer; more are queued."
        + ASYNC_NOTE,
        "Insider",
        {200: Resp("One result per customer.", m.InsiderAttributesDeleteResponse),
         202: Resp(f"More than {m.MAX_ATTRIBUTE_DELETE_NOW} customers: queued.", m.InsiderSyncAccepted,
                   headers=ACCEPTED_HEADERS),
         400: BAD_REQUEST,
         503: problem_response("Sending is paused after Insider answered 403 (`results` included), or the app is not "
                       "configured for Insider.", (m.InsiderAttributesPausedProblem, m.ProblemDetails),
                       ("Retry-After?",))},
        body=m.InsiderAttributesDeleteRequest, body_limit="batch", body_title="Deletion", visibility="advanced")},
    "insider_profile": {"POST": Operation(
        "GetInsiderProfile", "Get Insider Profile",
        "What Insider holds for one customer (its profile API): the attributes (all of them unless named) and "
        "the events named, the customer addressed by the identifiers the stored mapping builds for it, so a sync "
        "can be checked. `found` is false when Insider has no such user.",
        "Insider",
        {200: Resp("Insider's profile of the customer.", m.InsiderProfileResponse, headers=("x-identifier",)),
         400: BAD_REQUEST,
         502: problem_response("Insider refused the request, or answered something that is not a profile.",
                       m.InsiderUpstreamProblem, ("x-identifier",)),
         503: problem_response("Insider throttled beyond a short inline retry (`Retry-After` passed on), sending is "
                               "paused after a 403, or the app is not configured for Insider.",
                       (m.InsiderUpstreamProblem, m.ProblemDetails), ("Retry-After?", "x-identifier?")),
         504: problem_response("Insider did not answer within UPSTREAM_TIMEOUT_SECONDS.", m.InsiderUpstreamProblem,
                       ("x-identifier",))},
        body=m.InsiderProfileRequest, body_title="Profile Request", visibility="advanced")},
    "insider_resume": {"POST": Operation(
        "ResumeInsiderSync", "Resume Insider Sync",
        "Lift the pause after Insider answered 403, once the partner name or API key is fixed.",
        "Insider",
        {200: Resp("Whether sending was paused.", m.ResumeResponse), 503: NOT_CONFIGURED},
        visibility="advanced")},
    "outbound_logs_list": {"GET": Operation(
        "ListOutboundLogs", "List Outbound Log Entries",
        "Requests the app sent to inQuba and Insider, newest first, filtered by identifier, customer, status, "
        "target, error text or time; bodies are left out (Get Outbound Log Entry has them).",
        "Outbound log",
        {200: Resp("A page of entries.", m.LogPage, headers=("Cache-Control",)), 400: BAD_REQUEST},
        params=_query_params(m.LogQueryParameters), visibility="advanced")},
    "outbound_log_page": {"GET": Operation(
        "GetOutboundLogPage", "Get Outbound Log Page",
        "A web page to search the outbound log; it holds no data and calls the JSON routes with the function key it "
        "asks for once. Needs no function key.",
        "Outbound log", PAGE, connector=False)},
    "outbound_log_read": {"GET": Operation(
        "GetOutboundLogEntry", "Get Outbound Log Entry",
        "One entry with its request and response bodies (secrets redacted); with customerId, that customer's "
        "slice of a batched Insider request.",
        "Outbound log",
        {200: Resp("The entry.", m.LogEntry, headers=("Cache-Control",)), 400: BAD_REQUEST, 404: NOT_FOUND},
        params=(Param("id", "path", "The entry id (13 digits, -, 10 hex digits).",
                      {"type": "string", "pattern": r"^\d{13}-[0-9a-f]{10}$"}, required=True, title="Entry ID",
                      visibility="important"),
                Param("customerId", "query", "That customer's slice of a batched Insider request (at most 256 "
                      "characters, surrounding spaces ignored).", title="Customer ID")),
        visibility="advanced")},
    "delivery_stats": {"GET": Operation(
        "GetDeliveryStats", "Get Delivery Statistics",
        "Calls the app made to inQuba and Insider, per target and operation: counts by outcome (2xx, 4xx, 5xx, no "
        "answer) and p50/p95 response times from fixed-bucket histograms, in buckets of 5 minutes or an hour "
        "(default: the last 24 hours by 5 minutes). Each process merges its counts about once a minute, so the "
        "last minute may be missing.",
        "Operations",
        {200: Resp("The series.", m.StatsResponse, headers=("Cache-Control",)), 400: BAD_REQUEST},
        params=_query_params(m.StatsQueryParameters), connector=False)},
    "operations_overview": {"GET": Operation(
        "GetOperationsOverview", "Get Operations Overview",
        "Approximate depth of every queue and its poison queue, whether Insider sending is paused, and the inQuba "
        "token cache's expiry and age (never the token).",
        "Operations",
        {200: Resp("The overview.", m.OperationsOverview, headers=("Cache-Control",)), 503: NOT_CONFIGURED},
        connector=False)},
    "operations_page": {"GET": Operation(
        "GetOperationsPage", "Get Operations Page",
        "A web page with the overview (charts of outcomes and p95 latency, queues, the Insider pause) and the dead "
        "letters with replay; it links the outbound log page. It holds no data and asks for the function key "
        "once. Needs no function key.",
        "Operations", PAGE, connector=False)},
    "dead_letters_list": {"GET": Operation(
        "ListDeadLetters", "List Dead Letters",
        "Items the app gave up on, newest first, from its own records (so that more than a queue peek's 32 can be "
        "listed and paged): error, last status, attempts and identifier, and whether each was replayed.",
        "Operations",
        {200: Resp("A page of dead letters.", m.DeadLetterPage, headers=("Cache-Control",)), 400: BAD_REQUEST},
        params=_query_params(m.DeadLetterQueryParameters), connector=False)},
    "dead_letters_replay": {"POST": Operation(
        "ReplayDeadLetters", "Replay Dead Letters",
        "Move a work queue's dead letters of a time window (optionally one identifier) back to that queue with a "
        "fresh attempt count, each at most once, and delete their poison copies; answers what was moved. Replaying "
        "again moves none of them again, and an item already delivered is not delivered twice.",
        "Operations",
        {200: Resp("What was moved.", m.DeadLetterReplay), 400: BAD_REQUEST},
        body=m.DeadLetterReplayRequest, body_title="Window", connector=False)},
    "openapi_document": {"GET": Operation(
        "GetOpenApiDocument", "Get OpenAPI Document",
        "This document. Needs no function key.",
        "Documentation",
        {200: Resp("The OpenAPI 3.1 document.", {"type": "object"})},
        connector=False)},
}
