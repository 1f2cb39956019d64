"""Limits are documented (docs/api.md#limits, the OpenAPI document) and enforced, and the inputs fuzzing found answer
4xx, not 500."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from scripts.generate_api_docs import ROOT
from shared.delivery import routes as batch_http
from shared.identifiers import MAX_CUSTOMER_ID_CHARS, MAX_CUSTOMER_ID_KEY_CHARS
from shared.inquba import models as inquba_models
from shared.insider import routes as insider_http
from shared.insider import user_routes
from shared.outbound_log import query as outbound_log_query
from shared.web import api_models
from shared.web import parsing as request_parsing
from shared.web.api_models import MAX_SYNC_CUSTOMERS
from tests.integration.conftest import CANARY_CLIENT_SECRET, CANARY_PASSWORD, TENANTS, RunningApp

JSON = {"content-type": "application/json"}
LONE_SURROGATE = b'"\\ud800"'
EMOJI_ID = "\U0001F600" * 100  # 100 characters, 1,200 once percent-encoded: too long for a Table key


def limits_section() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    return text[text.index("## Limits"):]


@pytest.mark.parametrize("value", [
    request_parsing.MAX_JSON_DEPTH, inquba_models.MAX_ATTRIBUTES, inquba_models.MAX_CODE_LENGTH,
    inquba_models.MAX_VALUE_LENGTH, api_models.MAX_BATCH_ITEMS, api_models.MAX_SYNC_CUSTOMERS,
    api_models.MAX_ASYNC_CUSTOMERS, MAX_CUSTOMER_ID_CHARS, MAX_CUSTOMER_ID_KEY_CHARS,
    api_models.MAX_CUSTOMER_NAME_LENGTH, batch_http.MAX_ITEM_CHARS, request_parsing.MAX_ERRORS_REPORTED,
    api_models.MAX_CUSTOMER_CHARS, insider_http.MAX_MAPPING_CHARS,
    outbound_log_query.MAX_LIMIT, outbound_log_query.DEFAULT_LIMIT, outbound_log_query.MAX_KEY_LENGTH,
    outbound_log_query.MAX_ERROR_LENGTH, outbound_log_query.READ_BUDGET, outbound_log_query.MAX_ROUND_TRIPS,
    api_models.MAX_ERASE_CUSTOMERS, api_models.MAX_ATTRIBUTE_DELETE_CUSTOMERS, api_models.MAX_ATTRIBUTE_DELETE_NOW,
    api_models.MAX_ATTRIBUTE_NAMES, api_models.MAX_VALUES_PER_ATTRIBUTE, api_models.MAX_PROFILE_NAMES,
    int(user_routes.ERASE_DEADLINE_SECONDS),
])
def test_every_limit_is_documented(value: int) -> None:
    assert re.search(rf"(?<![\d,]){value:,}(?![\d,])", limits_section()), f"{value:,} is not in docs/api.md#limits"


JSON_ROUTES = [("POST", "/api/inquba/events"), ("POST", "/api/inquba/transactions"), ("POST", "/api/inquba/token"),
               ("POST", "/api/inquba/events/batch"), ("POST", "/api/insider/sync"),
               ("POST", "/api/insider/sync?mode=async"), ("POST", "/api/insider/mapping/preview"),
               ("PUT", "/api/insider/mapping"), ("POST", "/api/insider/erase"),
               ("POST", "/api/insider/attributes/delete"), ("POST", "/api/insider/profile")]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_lone_surrogate_escape_is_a_400_on_every_json_route(app: RunningApp, method: str, path: str) -> None:
    body = b'{"customers": [{"id": ' + LONE_SURROGATE + b'}], "events": [], "identifiers": [' + LONE_SURROGATE + b"]}"
    response = app.client.request(method, path, content=body, headers={**JSON, "If-Match": '"default"'})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/inquba/events", {"eventDefinitionCode": "E", "customerId": EMOJI_ID}, "customerId"),
    ("/api/inquba/events/batch", {"events": [{"eventDefinitionCode": "E", "customerId": EMOJI_ID}]},
     "events[0].customerId"),
    ("/api/insider/sync", {"customers": [{"id": EMOJI_ID, "attributes": {"email": "a@example.com"}}]},
     "customers[0].id"),
    ("/api/insider/sync?mode=async", {"customers": [{"id": "x" * 257}]}, "customers[0].id"),
    ("/api/insider/sync", {"id": "c1", "name": "n" * 257}, "name"),
    ("/api/insider/erase", {"customers": [{"id": EMOJI_ID}], "action": "delete"}, "customers[0].id"),
    ("/api/insider/attributes/delete", {"customers": [{"id": EMOJI_ID}], "whole": ["city"]}, "customers[0].id"),
    ("/api/insider/profile", {"customer": {"id": "c1", "name": "n" * 257}}, "customer.name"),
])
def test_customer_ids_that_cannot_be_a_table_key_are_a_400(app: RunningApp, path: str, body: dict, field: str) -> None:
    response = app.client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_customer_id_at_the_limit_is_taken(app: RunningApp) -> None:
    customer_id = "é" * (MAX_CUSTOMER_ID_KEY_CHARS // 6)  # 83 characters, 498 percent-encoded
    response = app.client.post("/api/inquba/events", json={"eventDefinitionCode": "E", "customerId": customer_id})
    assert response.status_code == 200, response.text
    logged = app.client.get("/api/outbound-logs", params={"customerId": customer_id})
    assert logged.status_code == 200 and logged.json()["items"], "the outbound log entry was written"


@pytest.mark.parametrize("if_match", ['"a", "b"', 'W/"x", W/"y"', "abc", '"' + "x" * 251 + '"'])
def test_if_match_must_be_one_etag(app: RunningApp, if_match: str) -> None:
    mapping = app.client.get("/api/insider/mapping").json()
    response = app.client.put("/api/insider/mapping", json=mapping, headers={"If-Match": if_match})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "If-Match"


def test_a_mapping_past_its_size_limit_is_a_400_naming_it(app: RunningApp) -> None:
    rows = [{"source": f"s{i}", "insider": f"c{i}", "custom": True} for i in range(6000)]
    mapping = {"identifiers": [{"source": "id", "insider": "uuid"}], "profile": rows}
    response = app.client.post("/api/insider/mapping/preview", json={"customers": [{"id": "c"}], "mapping": mapping})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "mapping"


def test_an_invalid_mapping_lists_at_most_100_problems(app: RunningApp) -> None:
    rows = [{"source": "s", "insider": "c", "custom": True, "extra": 1} for _ in range(300)]
    mapping = {"identifiers": [{"source": "id", "insider": "uuid"}], "profile": rows}
    response = app.client.post("/api/insider/mapping/preview", json={"customers": [{"id": "c"}], "mapping": mapping})
    assert response.status_code == 400
    body = response.json()
    assert len(body["errors"]) == request_parsing.MAX_ERRORS_REPORTED and "the first 100 are listed" in body["detail"]


@pytest.mark.parametrize("limit", ["²", "٣", "1" * 5000, "0", "201"])
def test_outbound_log_limit_must_be_a_plain_number_in_range(app: RunningApp, limit: str) -> None:
    response = app.client.get("/api/outbound-logs", params={"limit": limit})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "limit"


def test_ids_with_a_trailing_newline_are_not_identifiers(app: RunningApp) -> None:
    response = app.client.post("/api/requests/01ABC/replay", params={"identifier": "abc\n"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "identifier"
    assert app.client.post("/api/requests/not%20an%20id/replay").status_code == 400


# --- Every limit the document states, read from it --------------------------------------------------------------
# For each JSON route, a small valid body; every numeric limit its schema states (maxLength, maxItems,
# maxProperties, propertyNames, minLength, minItems, maximum, minimum) is found by walking the schema along that
# body, and the body is sent one past it (a 4xx naming the field, and for an upper limit the number) and, where
# that is cheap, at it (accepted).

DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())
REF = "#/components/schemas/"
MAPPING = json.loads((ROOT / "shared" / "insider" / "mapping.default.json").read_text())
CONNECTION = {"tenantName": "sandbox", "hostUrl": "sandbox.inqubacx.com", "username": TENANTS["sandbox"]["username"],
              "password": CANARY_PASSWORD, "clientId": TENANTS["sandbox"]["client_id"],
              "clientSecret": CANARY_CLIENT_SECRET}
CUSTOMER = {"id": "limits-1", "name": "Limits", "attributes": {"email": "limits@example.com"}}
ITEM = {"attributes": [{"code": "c", "value": "v"}], "customerId": "limits", "isTest": True}
MAP_ITEM = {**ITEM, "attributes": {"c": "v"}}  # the {"code": value} form
BODIES: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
    ("POST", "/inquba/events", {}, {**ITEM, "eventDefinitionCode": "LIMITS"}),
    ("POST", "/inquba/events", {}, {**MAP_ITEM, "eventDefinitionCode": "LIMITS"}),
    ("POST", "/inquba/transactions", {}, {**ITEM, "transactionDefinitionCode": "LIMITS"}),
    ("POST", "/inquba/transactions", {}, {**MAP_ITEM, "transactionDefinitionCode": "LIMITS"}),
    ("POST", "/inquba/events/batch", {}, {"events": [{**ITEM, "eventDefinitionCode": "LIMITS"}]}),
    ("POST", "/inquba/events/batch", {}, {"events": [{**MAP_ITEM, "eventDefinitionCode": "LIMITS"}]}),
    ("POST", "/inquba/transactions/batch", {}, {"transactions": [{**ITEM, "transactionDefinitionCode": "LIMITS"}]}),
    ("POST", "/inquba/transactions/batch", {}, {"transactions": [{**MAP_ITEM, "transactionDefinitionCode": "L"}]}),
    ("POST", "/inquba/token", {}, CONNECTION),
    ("POST", "/insider/sync", {}, {"customers": [CUSTOMER]}),
    ("POST", "/insider/sync", {"mode": "async"}, {"customers": [CUSTOMER]}),
    ("POST", "/insider/mapping/preview", {}, {"customers": [CUSTOMER], "mapping": MAPPING}),
    ("PUT", "/insider/mapping", {}, MAPPING),
    ("POST", "/insider/erase", {}, {"customers": [{"id": "limits-erase"}], "action": "anonymize"}),
    ("POST", "/insider/attributes/delete", {}, {"customers": [{"id": "limits-attributes"}], "whole": ["city"],
                                                "partial": {"list_id": [1]}}),
    ("POST", "/insider/attributes/delete", {}, {"customers": [{"id": "limits-attributes"}], "custom": {
        "whole": ["limits_attribute"], "partial": {"limits_list": ["v"]}}}),
    ("POST", "/insider/profile", {}, {"customer": {"id": "limits-profile"}, "attributes": ["email"],
                                      "events": ["purchase"]}),
    ("POST", "/dead-letters/replay", {}, {"queue": "inquba-events", "since": "2026-01-01T00:00:00Z",
                                          "identifier": "limits"}),
]
UPPER = ("maxLength", "maxItems", "maxProperties", "maximum")
LOWER = ("minLength", "minItems", "minProperties", "minimum")


@dataclass(frozen=True)
class Key:
    """A key of a {"code": value} map in a body path (its errors name the map: the app reads it as a list)."""

    name: str


@dataclass
class Limit:
    method: str
    route: str
    query: dict[str, str]
    body: dict[str, Any] | None = field(repr=False)
    path: tuple[str | int | Key, ...]  # into the body, or (name,) of a query parameter
    keyword: str  # maxLength ..., or propertyNames.maxLength
    limit: int
    field: str  # what the 400 must name
    alias_of: str | None = None  # a field under its other name: the first name is left out

    def __str__(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else ""
        return f"{self.method} {self.route}{query} {self.field} {self.keyword}={self.limit}"


def _json_type(value: Any) -> str | None:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return None if value is None else kinds[type(value)]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {**DOCUMENT["components"]["schemas"][schema["$ref"].removeprefix(REF)],
                  **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _branch(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The option of an anyOf/oneOf that the body's value takes (the first typed, non-null one if absent);
    options without a type are rules across fields (the token's all or none), not shapes."""
    schema = _resolve(schema)
    for keyword in ("anyOf", "oneOf"):
        options = [_resolve(o) for o in schema.get(keyword, [])]
        options = [o for o in options if o.get("type") not in (None, "null")]
        if options:
            kind = _json_type(value)
            chosen = next((o for o in options if kind in (None, o["type"])), options[0])
            schema = {**{k: v for k, v in schema.items() if k != keyword}, **chosen}
    return schema


def _field(path: tuple[Any, ...], pointer_at: int | None) -> str:
    """The name the app gives the field: events[0].attributes, or a JSON pointer inside a mapping."""
    if any(isinstance(p, Key) for p in path):
        path = path[:next(i for i, p in enumerate(path) if isinstance(p, Key))]
    head = path if pointer_at is None else path[:pointer_at]
    name = ""
    for part in head:
        name += f"[{part}]" if isinstance(part, int) else ("." if name else "") + str(part)
    if pointer_at is not None:
        name += "".join(f"/{part}" for part in path[pointer_at:]) or "/"
    return name


def _walk(schema: dict[str, Any], value: Any, path: tuple[Any, ...], pointer_at: int | None,
          alias_of: str | None = None) -> list[tuple[tuple[Any, ...], str, int, str, str | None]]:
    if REF + "InsiderMapping" in (schema.get("$ref"), *(o.get("$ref") for o in schema.get("anyOf", []))):
        pointer_at = len(path)  # the mapping's problems are JSON pointers into it
    schema = _branch(schema, value)
    kind = schema.get("type")
    if value is None and kind in ("object", "array"):
        return []  # a container the body lacks: nowhere to put a value
    found = [(path, keyword, schema[keyword], _field(path, pointer_at), alias_of)
             for keyword in UPPER + LOWER if isinstance(schema.get(keyword), int)]
    for keyword, bound in schema.get("propertyNames", {}).items():
        if keyword in UPPER + LOWER:
            found.append((path, f"propertyNames.{keyword}", bound, _field(path, pointer_at), alias_of))
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            found += _walk(sub, value.get(name), (*path, name), pointer_at, sub.get("x-alias-of"))
        if isinstance(schema.get("additionalProperties"), dict) and value:
            key = next(iter(value))
            found += _walk(schema["additionalProperties"], value[key], (*path, Key(key)), pointer_at)
    if isinstance(value, list) and value and isinstance(schema.get("items"), dict):
        found += _walk(schema["items"], value[0], (*path, 0), pointer_at)
    return found


def document_limits() -> list[Limit]:
    limits = []
    for method, route, query, body in BODIES:
        schema = DOCUMENT["paths"][route][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        for path, keyword, limit, name, alias_of in _walk(schema, body, (), None):
            limits.append(Limit(method, route, query, body, path, keyword, limit, name, alias_of))
    for route, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            for param in operation.get("parameters", []):
                if param["in"] == "query":
                    for path, keyword, limit, name, _ in _walk(param["schema"], None, (param["name"],), None):
                        limits.append(Limit(method.upper(), route, {}, None, path, keyword, limit, name))
    return list({str(limit): limit for limit in reversed(limits)}.values())[::-1]  # the two forms share fields


LIMITS = document_limits()


def _copies(item: Any, count: int) -> list[Any]:
    """`count` items like `item`, their ids and codes made unique."""
    copies = []
    for index in range(count):
        copy = json.loads(json.dumps(item))
        for key in ("id", "code", "source"):
            if isinstance(copy, dict) and isinstance(copy.get(key), str):
                copy[key] = f"{copy[key]}-{index}"
        copies.append(copy)
    return copies


def _at(limit: Limit, size: int) -> tuple[dict[str, str], Any]:
    """The query and body with the limited value made `size` long (or large)."""
    if limit.body is None:
        return {limit.path[0]: str(size)}, None
    body = json.loads(json.dumps(limit.body))
    parent: Any = body
    for part in limit.path[:-1]:
        parent = parent[part.name if isinstance(part, Key) else part]
    last = limit.path[-1]
    key = last.name if isinstance(last, Key) else last
    current = parent.get(limit.alias_of or key) if isinstance(parent, dict) else parent[key]  # its value if sent
    keyword = limit.keyword.removeprefix("propertyNames.")
    if limit.keyword.startswith("propertyNames."):
        value: Any = {"k" * size: next(iter(current.values()))}
    elif keyword in ("maxLength", "minLength"):
        text = current if isinstance(current, str) else "x"
        value = text[:size] if size <= len(text) else "x" * (size - len(text)) + text  # the host stays allowed
    elif keyword in ("maxItems", "minItems"):
        value = _copies(current[0], size)
    elif keyword in ("maxProperties", "minProperties"):
        first = next(iter(current.values()))
        value = {f"c{index}": first for index in range(size)}
    else:
        value = size
    parent[key] = value
    if limit.alias_of is not None:
        parent.pop(limit.alias_of)
    return {**limit.query}, body


def _send(app: RunningApp, limit: Limit, size: int) -> httpx.Response:
    query, body = _at(limit, size)
    headers = {"If-Match": '"limits"'} if limit.method == "PUT" else {}
    return app.client.request(limit.method, "/api" + limit.route, params=query, json=body, headers=headers,
                              timeout=120)


def test_every_json_route_and_limit_is_covered() -> None:
    routes = {(method.upper(), route) for route, methods in DOCUMENT["paths"].items()
              for method, operation in methods.items() if "requestBody" in operation}
    assert routes == {(method, route) for method, route, _, _ in BODIES}
    for method, route in routes:
        assert any((limit.method, limit.route) == (method, route) for limit in LIMITS), (method, route)
    assert {str(limit) for limit in LIMITS} >= {
        "POST /inquba/events attributes maxItems=200", "POST /inquba/events attributes maxProperties=200",
        "POST /inquba/events attributes propertyNames.maxLength=200",
        "POST /inquba/events attributes maxLength=4000",  # a value of the map
        "POST /inquba/events attributes[0].value maxLength=4000", "POST /inquba/events/batch events maxItems=1000",
        "POST /insider/sync?mode=async customers[0].id maxLength=256", "POST /inquba/token TenantName maxLength=100",
        "PUT /insider/mapping /identifiers minItems=1", "GET /outbound-logs limit maximum=200"}


@pytest.mark.parametrize("limit", LIMITS, ids=str)
def test_one_past_a_documented_limit_is_a_4xx_naming_the_field_and_the_limit(app: RunningApp, limit: Limit) -> None:
    past = limit.limit + 1 if limit.keyword.removeprefix("propertyNames.") in UPPER else limit.limit - 1
    response = _send(app, limit, past)
    assert 400 <= response.status_code < 500, response.text[:500]
    named = [e for e in response.json()["errors"]
             if e["field"] == limit.field or e["field"].startswith(tuple(limit.field + c for c in ".[/"))]
    assert named, f"no error names {limit.field}: {response.json()['errors'][:5]}"
    if limit.keyword.removeprefix("propertyNames.") in UPPER:
        assert any(re.search(rf"(?<![\d,])({limit.limit}|{limit.limit:,})(?![\d,])", e["message"]) for e in named), \
            f"no error states the limit {limit.limit}: {named[:5]}"


# Sending at these limits is not cheap: 1,000 queued deliveries, 10,000 queued customers (or, in sync mode,
# 10,000 is the document's maxItems for both modes, while sync takes 100: in words, tested below), or the
# shared app's stored mapping replaced (preview checks the same schema at its limits).
COSTLY = {"POST /inquba/events/batch events maxItems=1000",
          "POST /inquba/transactions/batch transactions maxItems=1000",
          "POST /insider/sync customers maxItems=10000", "POST /insider/sync?mode=async customers maxItems=10000",
          # 100 anonymise requests to Insider, paced at 500 a minute; 10,000 customers queued
          "POST /insider/erase customers maxItems=100", "POST /insider/attributes/delete customers maxItems=10000"}
# Values at these limits are refused for another reason the document states: no work queue is named so.
NOT_A_VALUE = {"POST /dead-letters/replay queue maxLength=63"}


@pytest.mark.parametrize("limit", [lm for lm in LIMITS if lm.keyword.removeprefix("propertyNames.") in UPPER
                                   and str(lm) not in COSTLY | NOT_A_VALUE and lm.method != "PUT"], ids=str)
def test_a_value_at_a_documented_limit_is_accepted(app: RunningApp, limit: Limit) -> None:
    response = _send(app, limit, limit.limit)
    if limit.route == "/inquba/token" and response.status_code == 502:
        assert response.json()["operation"] == "token"  # taken, and sent: inQuba refused a made-up tenant or user
    else:
        assert response.status_code in (200, 202), response.text[:500]


@pytest.mark.parametrize(("count", "status"), [(MAX_SYNC_CUSTOMERS, 200), (MAX_SYNC_CUSTOMERS + 1, 400)])
def test_sync_now_takes_the_documented_100_customers(app: RunningApp, count: int, status: int) -> None:
    customers = _copies(CUSTOMER, count)
    response = app.client.post("/api/insider/sync", json={"customers": customers}, timeout=120)
    assert response.status_code == status, response.text[:500]
    assert f"1 to {MAX_SYNC_CUSTOMERS} customers" in DOCUMENT["components"]["schemas"]["InsiderSyncRequest"][
        "properties"]["customers"]["description"]
    if status == 400:
        assert response.json()["errors"][0]["field"] == "customers"
