"""The OpenAPI 3.1 document of the HTTP API, built from the function app's routes and the code's own models.

`OPERATIONS` is the one place that documents a route: function name -> HTTP method -> `Operation`
(operationId, summary, description, request model, parameters, responses). `build_openapi(app)` joins
it with the routes the function app really has (read from its decorators' builders: `get_functions()`
may be called only once per app, and the host already did) and fails naming any route without
documentation or documentation without a route. Schemas come from the pydantic models that parse
requests and shape responses (`shared/inquba/models.py`, `shared/web/api_models.py`) and from the Insider
mapping's JSON Schema. `scripts/generate_api_docs.py` writes it to docs/openapi.json and derives the
Power Platform connector (Swagger 2.0) from it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared import __version__
from shared.identifiers import IDENTIFIER_PATTERN
from shared.inquba.models import (
    MAX_ATTRIBUTES,
    Attribute,
    EventRequest,
    PublishResponse,
    TokenRequest,
    TokenResponse,
    TransactionRequest,
)
from shared.insider.mapping import mapping_json_schema
from shared.web import api_models as m
from shared.web.problems import PROBLEM_MEDIA_TYPE

OPENAPI_VERSION = "3.1.0"
REF_PREFIX = "#/components/schemas/"
SECURITY_SCHEMES = {
    "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                    "description": "A function key (`az functionapp keys list`)."},
    "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                         "description": "The function key in the URL; a 202's Location then carries it too."},
}
Visibility = Literal["important", "advanced", "internal"]
SchemaSource = type[BaseModel] | dict[str, Any] | tuple[type[BaseModel], ...]


class DocumentationMismatch(ValueError):
    """A route without documentation, or documentation without a route."""


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


def _problem(description: str, schema: SchemaSource = m.ProblemDetails, headers: tuple[str, ...] = ()) -> Resp:
    return Resp(description, schema, PROBLEM_MEDIA_TYPE, headers)


BAD_REQUEST = _problem("Invalid body or parameters; `errors` names every bad field.")
NOT_FOUND = _problem("No such batch, request, identifier or entry.")
NOT_CONFIGURED = _problem("The app is not configured for this upstream (`settings` names what is missing).")
UPSTREAM_ERRORS = {
    502: _problem("inQuba refused the call, or a network error; `hint` explains inQuba's documented statuses.",
                  m.UpstreamProblem, ("x-identifier?",)),
    503: _problem("inQuba throttled beyond a short inline retry (`Retry-After` passed on), or the app is not "
                  "configured for inQuba.", (m.UpstreamProblem, m.ProblemDetails), ("Retry-After?", "x-identifier?")),
    504: _problem("inQuba did not answer within UPSTREAM_TIMEOUT_SECONDS.", m.UpstreamProblem, ("x-identifier?",)),
}
ACCEPTED_HEADERS = ("Location", "Retry-After")
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
             412: _problem("Someone saved the mapping since you read it: GET it again."),
             428: _problem("If-Match is missing.")},
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
         503: _problem("Sending is paused after Insider answered 403 (`results` included), or the app is not "
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
         503: _problem("Sending is paused after Insider answered 403 (`results` included), or the app is not "
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
         503: _problem("Sending is paused after Insider answered 403 (`results` included), or the app is not "
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
         502: _problem("Insider refused the request, or answered something that is not a profile.",
                       m.InsiderUpstreamProblem, ("x-identifier",)),
         503: _problem("Insider throttled beyond a short inline retry (`Retry-After` passed on), sending is paused "
                       "after a 403, or the app is not configured for Insider.",
                       (m.InsiderUpstreamProblem, m.ProblemDetails), ("Retry-After?", "x-identifier?")),
         504: _problem("Insider did not answer within UPSTREAM_TIMEOUT_SECONDS.", m.InsiderUpstreamProblem,
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
        "A web page to search the outbound log; it holds no data and calls the JSON routes with the key from "
        "`?code=`. Needs no function key.",
        "Outbound log",
        {200: Resp("The page.", {"type": "string"}, "text/html")},
        connector=False)},
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
    "openapi_document": {"GET": Operation(
        "GetOpenApiDocument", "Get OpenAPI Document",
        "This document. Needs no function key.",
        "Documentation",
        {200: Resp("The OpenAPI 3.1 document.", {"type": "object"})},
        connector=False)},
}


# --- Routes of the function app ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    function_name: str
    route: str  # without the api/ prefix, constraints removed: requests/{requestId}
    methods: tuple[str, ...]
    anonymous: bool


def http_routes(app: Any) -> list[HttpRoute]:
    """The app's HTTP routes, read from its function builders (never `app.get_functions()`, which may run once)."""
    routes = []
    for builder in getattr(app, "_function_builders", []):
        function = builder._function
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        name = function.get_function_name()
        route = re.sub(r"\{\*{0,2}(\w+)[^}]*\}", r"{\1}", getattr(trigger, "route", None) or name)
        methods = getattr(trigger, "methods", None) or ["GET", "POST", "PUT", "PATCH", "DELETE"]
        level = getattr(trigger, "auth_level", None) or app.auth_level
        level_text = str(getattr(level, "value", level)).lower()
        routes.append(HttpRoute(name, route.strip("/"), tuple(str(getattr(x, "value", x)).upper() for x in methods),
                                level_text == "anonymous"))
    return routes


# --- Schemas ----------------------------------------------------------------------------------------------------


def _rewrite_refs(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for old, new in mapping.items():
                    if value.startswith(old):
                        value = new + value[len(old):]
                        break
            out[key] = _rewrite_refs(value, mapping)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, mapping) for v in node]
    return node


def _insider_mapping_schemas() -> dict[str, Any]:
    """The mapping's JSON Schema as components: InsiderMapping plus one InsiderMapping<Def> per $defs entry."""
    schema = mapping_json_schema()
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    names = {name: "InsiderMapping" + name[:1].upper() + name[1:] for name in defs}
    refs = {f"#/$defs/{name}": REF_PREFIX + new for name, new in names.items()}
    out = {"InsiderMapping": _rewrite_refs(schema, refs)}
    for name, definition in defs.items():
        out[names[name]] = _rewrite_refs(definition, refs)
    return out


def _schema_models() -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    """(request models, response models) named anywhere in OPERATIONS."""
    requests: list[type[BaseModel]] = [Attribute]
    responses: list[type[BaseModel]] = []

    def add(source: SchemaSource | None, into: list[type[BaseModel]]) -> None:
        sources = source if isinstance(source, tuple) else (source,)
        for item in sources:
            if isinstance(item, type) and issubclass(item, BaseModel) and item not in into:
                into.append(item)

    for methods in OPERATIONS.values():
        for op in methods.values():
            add(op.body, requests)
            for resp in op.responses.values():
                add(resp.schema, responses)
    return requests, responses


def _clean(node: Any, parent_key: str = "") -> Any:
    """Drop pydantic's generated property titles and null defaults."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: _clean({k: v for k, v in prop.items() if k != "title"}) for name, prop in value.items()
                }
            elif key == "default" and value is None:
                continue
            else:
                out[key] = _clean(value, key)
        return out
    if isinstance(node, list):
        return [_clean(v, parent_key) for v in node]
    return node


def component_schemas() -> dict[str, Any]:
    requests, responses = _schema_models()
    pairs = [(model, "validation") for model in requests] + [(model, "serialization") for model in responses]
    _, top = models_json_schema(pairs, by_alias=True, ref_template=REF_PREFIX + "{model}")
    schemas: dict[str, Any] = _rewrite_refs(top.get("$defs", {}), {"#/$defs/": REF_PREFIX})
    schemas = {name: _clean(schema) for name, schema in schemas.items()}
    for registry, entries in (("FIELD_DOCS", FIELD_DOCS), ("FIELD_SCHEMAS", FIELD_SCHEMAS)):
        for key, docs in entries.items():
            model_name, prop = key.split(".", 1)
            target = schemas.get(model_name, {}).get("properties", {}).get(prop)
            if target is None:
                raise DocumentationMismatch(f"{registry} names {key}, which no schema has")
            target.update({k: v for k, v in docs.items() if k != "title"})
            if "title" in docs:
                target["x-ms-summary"] = docs["title"]
    schemas.update(_insider_mapping_schemas())
    return dict(sorted(schemas.items()))


def schema_ref(source: SchemaSource) -> dict[str, Any]:
    if isinstance(source, tuple):
        return {"anyOf": [schema_ref(item) for item in source]}
    if isinstance(source, dict):
        return copy.deepcopy(source)
    return {"$ref": REF_PREFIX + source.__name__}


# --- The document ------------------------------------------------------------------------------------------------


def _response(resp: Resp) -> dict[str, Any]:
    out: dict[str, Any] = {"description": resp.description}
    if resp.headers:
        out["headers"] = {}
        for name in resp.headers:
            optional = name.endswith("?")
            header = copy.deepcopy(HEADERS[name.rstrip("?")])
            header["required"] = not optional
            out["headers"][name.rstrip("?")] = header
    if resp.schema is not None:
        out["content"] = {resp.media_type: {"schema": schema_ref(resp.schema)}}
    return out


def _operation(op: Operation, method: str, route: HttpRoute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
    }
    path_names = re.findall(r"\{(\w+)\}", route.route)
    documented = [p.name for p in op.params if p.location == "path"]
    if sorted(path_names) != sorted(documented):
        raise DocumentationMismatch(f"{route.function_name} {method}: route parameters {path_names}, "
                                    f"documented {documented}")
    if op.params:
        out["parameters"] = [
            {"name": p.name, "in": p.location, "description": p.description, "required": p.required or
             p.location == "path", "schema": copy.deepcopy(p.schema), "x-ms-summary": p.title or title_of(p.name),
             "x-ms-visibility": p.visibility}
            for p in op.params
        ]
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required,
                              "content": {"application/json": {"schema": schema_ref(op.body)}}}
    responses = {str(status): _response(resp) for status, resp in op.responses.items()}
    if op.body is not None:
        limit = {"request": "MAX_REQUEST_BODY_BYTES (1 MiB)", "batch": "MAX_BATCH_BODY_BYTES (16 MiB)",
                 "mode": "MAX_REQUEST_BODY_BYTES (1 MiB), or with mode=async MAX_BATCH_BODY_BYTES (16 MiB)",
                 }[op.body_limit]
        responses.setdefault("400", _response(BAD_REQUEST))
        responses["413"] = _response(_problem(f"The body is larger than {limit}."))
        responses["415"] = _response(_problem("The body is not application/json."))
    if not route.anonymous:
        responses["401"] = {"description": "Missing or wrong function key (answered by the Functions host, no body)."}
    out["responses"] = dict(sorted(responses.items()))
    out["security"] = [] if route.anonymous else [{"functionKey": []}, {"functionKeyQuery": []}]
    out["x-ms-visibility"] = op.visibility
    out["x-connector-action"] = op.connector
    if op.body is not None:
        out["x-body-title"] = op.body_title
    return out


def title_of(name: str) -> str:
    """`clientId` -> "Client ID", `hostUrl` -> "Host URL", `If-Match` -> "If Match", `$schema` -> "Schema"."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.lstrip("$")).replace("-", " ").replace("_", " ").split()
    special = {"id": "ID", "url": "URL", "uri": "URI", "etag": "ETag"}
    return " ".join(special.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def build_openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`'s HTTP routes; DocumentationMismatch when a route and OPERATIONS differ."""
    routes = http_routes(app)
    paths: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    problems = []
    for route in routes:
        documented = OPERATIONS.get(route.function_name, {})
        for method in route.methods:
            op = documented.get(method)
            if op is None:
                problems.append(f"{method} /api/{route.route} (function {route.function_name}) is not documented")
                continue
            seen.add((route.function_name, method))
            paths.setdefault("/" + route.route, {})[method.lower()] = _operation(op, method, route)
    for name, methods in OPERATIONS.items():
        for method in methods:
            if (name, method) not in seen:
                problems.append(f"OPERATIONS documents {method} for function {name}, which has no such route")
    if problems:
        raise DocumentationMismatch("; ".join(problems))
    tags = sorted({op.tag for methods in OPERATIONS.values() for op in methods.values()})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "inQuba and Insider connector",
            "version": __version__,
            "description": "Publish to inQuba Journey (events, transactions, tokens; one now or thousands through "
                           "queues) and sync customers to Insider. Errors are application/problem+json (RFC 9457) "
                           "with `errors: [{field, message}]`. Limits: docs/api.md#limits.",
        },
        "servers": [{"url": "/api"}],
        "tags": [{"name": tag} for tag in tags],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": component_schemas(), "securitySchemes": copy.deepcopy(SECURITY_SCHEMES)},
    }


_SERVED: dict[int, bytes] = {}


def openapi_json(app: Any) -> bytes:
    """The document as served (built once per app object)."""
    key = id(app)
    if key not in _SERVED:
        _SERVED[key] = dumps(build_openapi(app)).encode("utf-8")
    return _SERVED[key]


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
