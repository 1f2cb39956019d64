"""Limits are documented (docs/api.md#limits) and enforced, and the inputs fuzzing found answer 4xx, not 500."""

from __future__ import annotations

import re

import pytest

from scripts.generate_api_docs import ROOT
from shared.delivery import routes as batch_http
from shared.identifiers import MAX_CUSTOMER_ID_CHARS, MAX_CUSTOMER_ID_KEY_CHARS
from shared.inquba import models as inquba_models
from shared.insider import routes as insider_http
from shared.outbound_log import query as outbound_log_query
from shared.web import api_models
from shared.web import parsing as request_parsing
from tests.integration.conftest import RunningApp

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
])
def test_every_limit_is_documented(value: int) -> None:
    assert re.search(rf"(?<![\d,]){value:,}(?![\d,])", limits_section()), f"{value:,} is not in docs/api.md#limits"


JSON_ROUTES = [("POST", "/api/inquba/events"), ("POST", "/api/inquba/transactions"), ("POST", "/api/inquba/token"),
               ("POST", "/api/inquba/events/batch"), ("POST", "/api/insider/sync"),
               ("POST", "/api/insider/sync?mode=async"), ("POST", "/api/insider/mapping/preview"),
               ("PUT", "/api/insider/mapping")]


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
