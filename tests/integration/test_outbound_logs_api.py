"""The outbound log API end to end: the app in the local runner, Azurite, and the sandbox as inQuba."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.client import SandboxControl
from shared.outbound_log.writer import CustomerSlice, OutboundLogEntry
from tests.integration.conftest import RunningApp
from tests.outbound_logs.helpers import entry, write_entries

DAY_MS = 86_400_000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def get_list(app: RunningApp, **params: Any) -> dict[str, Any]:
    response = app.client.get("/api/outbound-logs", params={k: str(v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "continuationToken", "entitiesRead"}
    return body


def all_pages(app: RunningApp, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every item, following continuation tokens; also each page's answer."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    token = None
    for _ in range(200):
        body = get_list(app, **params, **({"continuationToken": token} if token else {}))
        pages.append(body)
        items += body["items"]
        token = body["continuationToken"]
        if token is None:
            return items, pages
    raise AssertionError("paging did not end")


def publish(app: RunningApp, customer: str, identifier: str, name: str = "Ada Lovelace") -> httpx.Response:
    return app.client.post("/api/inquba/events", json={
        "eventDefinitionCode": "WELCOME_SMS", "attributes": {"Points": 5}, "customerId": customer,
        "customerName": name, "identifier": identifier,
    })


@pytest.fixture(scope="module")
def window() -> tuple[int, str]:
    """A quiet stretch of time a few days back, all this module's: (start ms, unique tag)."""
    start = int(time.time() * 1000) - 6 * DAY_MS + random.randrange(DAY_MS)
    return start, uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def old_entries(storage_connection_string: str, window: tuple[int, str]) -> list[OutboundLogEntry]:
    """30 entries one second apart in the window, written with the app's writer: targets, codes and errors mixed."""
    start, tag = window
    statuses: list[int | None] = [200, 200, 500, 404, None, 503]
    items = []
    for i in range(30):
        status = statuses[i % len(statuses)]
        error = None if status == 200 else ("timeout: ReadTimeout" if status is None else f"HTTP {status}: Boom-{tag}")
        items.append(entry(
            target="insider" if i % 2 else "inquba", status_code=status, error=error, epoch_ms=start + i * 1000,
            identifier=f"old-{tag}-{i}", customer_id=f"old-cust-{tag}-{i % 3}", customer_name=f"Old {i % 3}",
            response_body=f'{{"n": {i}}}',
        ))
    write_entries(storage_connection_string, items)
    return sorted(items, key=lambda e: e.id)  # newest first


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def distinct(items: list[dict[str, Any]]) -> list[str]:
    """Identifiers in order of first appearance."""
    return list(dict.fromkeys(item["identifier"] for item in items))


def test_lookups_by_customer_identifier_status_and_error(app: RunningApp, upstream: SandboxControl) -> None:
    customer, ok_id, failed_id, timeout_id = unique("cust"), unique("ok"), unique("fail"), unique("slow")
    assert publish(app, customer, ok_id).status_code == 200
    upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
    assert publish(app, customer, failed_id).status_code == 502
    upstream.configure(error_rates={}, timeout_rate=1.0, timeout_seconds=5, error_targets=["inquba-api"])
    assert publish(app, customer, timeout_id).status_code == 504
    upstream.configure(timeout_rate=0)

    body = get_list(app, customerId=customer)
    items = body["items"]
    assert body["entitiesRead"] == len(items) and body["continuationToken"] is None
    # A call refused with 401 (a token another test expired) is logged too, then retried: per identifier,
    # the newest entry is the one that counts.
    latest = {i["identifier"]: i for i in reversed(items)}
    assert distinct(items) == [timeout_id, failed_id, ok_id]  # newest first
    assert [latest[i]["statusCode"] for i in (timeout_id, failed_id, ok_id)] == [None, 500, 200]
    failed = latest[failed_id]
    assert set(failed) >= {"id", "timestamp", "target", "operation", "method", "url", "customerId", "customerName",
                           "statusCode", "responseTimeSeconds", "error", "identifier", "attempt"}
    assert failed["customerId"] == customer and failed["customerName"] == "Ada Lovelace"
    assert failed["target"] == "inquba" and failed["operation"] == "event" and failed["method"] == "POST"
    assert failed["url"].endswith("/Events") and failed["attempt"] >= 1 and failed["error"].startswith("HTTP 500")
    assert latest[timeout_id]["error"].startswith("timeout") and latest[timeout_id]["responseTimeSeconds"] >= 1.5
    assert failed["timestamp"].endswith("Z")

    def only(**params: Any) -> list[str]:
        found = get_list(app, customerId=customer, **params)
        assert found["entitiesRead"] <= len(found["items"]) + 50, found
        return distinct(found["items"])

    assert only(statusCode="5xx") == [failed_id]
    assert only(statusCode="500") == [failed_id]
    assert only(statusCode="200") == [ok_id]
    assert only(statusCode="2XX") == [ok_id]
    assert only(statusCode="404") == []
    assert only(statusCode="none") == [timeout_id]
    assert only(error="http 500") == [failed_id]  # substring, case-insensitive
    assert only(error="TIMEOUT") == [timeout_id]
    assert only(identifier=ok_id) == [ok_id]
    assert only(identifier=ok_id, statusCode="5xx") == []
    assert only(target="inquba") == [timeout_id, failed_id, ok_id]
    assert only(target="insider") == []

    by_identifier = get_list(app, identifier=failed_id)
    assert by_identifier["items"] and all(i["identifier"] == failed_id for i in by_identifier["items"])
    assert by_identifier["entitiesRead"] == len(by_identifier["items"])
    assert next(i["statusCode"] for i in by_identifier["items"] if i["operation"] == "event") == 500
    detail = app.client.get(f"/api/outbound-logs/{failed['id']}").json()
    assert '"eventDefinitionCode": "WELCOME_SMS"' in detail["requestBody"] or "WELCOME_SMS" in detail["requestBody"]
    assert detail["statusCode"] == 500 and detail["responseBody"]
    assert detail["entitiesRead"] == 1


def test_time_range_target_status_and_error_on_the_main_scan(
    app: RunningApp, old_entries: list[OutboundLogEntry], window: tuple[int, str]
) -> None:
    start, tag = window
    everything = {"from": iso(start), "to": iso(start + 29_000)}
    items, _ = all_pages(app, **everything)
    assert ids(items) == [e.id for e in old_entries]  # exactly the window, newest first
    assert [i["timestamp"] for i in items] == sorted((i["timestamp"] for i in items), reverse=True)

    inclusive = all_pages(app, **{"from": iso(start + 10_000), "to": iso(start + 20_000)})[0]
    assert ids(inclusive) == [e.id for e in old_entries if start + 10_000 <= e.epoch_ms <= start + 20_000]
    assert len(inclusive) == 11
    assert get_list(app, to=iso(start - 1), **{"from": iso(start - 1)})["items"] == []

    def scan(**params: Any) -> list[str]:
        return ids(all_pages(app, **everything, **params)[0])

    assert scan(target="insider") == [e.id for e in old_entries if e.target == "insider"]
    assert scan(statusCode="5xx") == [e.id for e in old_entries if e.status_code in (500, 503)]
    assert scan(statusCode="404") == [e.id for e in old_entries if e.status_code == 404]
    assert scan(statusCode="none") == [e.id for e in old_entries if e.status_code is None]
    assert scan(error=f"boom-{tag.upper()}") == [e.id for e in old_entries if e.error and "Boom" in e.error]
    # AND: every filter at once.
    assert scan(target="insider", statusCode="5xx", error="boom") == [
        e.id for e in old_entries if e.target == "insider" and e.status_code in (500, 503)
    ]
    # An error substring over the whole table (no time range) still finds them, newest first.
    everywhere = all_pages(app, error=f"Boom-{tag}", limit=200)[0]
    assert ids(everywhere) == [e.id for e in old_entries if e.error and "Boom" in e.error]
    # Time range on an index lookup.
    customer = f"old-cust-{tag}-1"
    ranged = get_list(app, customerId=customer, **{"from": iso(start + 5_000), "to": iso(start + 15_000)})
    assert ids(ranged["items"]) == [e.id for e in old_entries
                                    if e.customer_id == customer and start + 5_000 <= e.epoch_ms <= start + 15_000]
    assert ranged["entitiesRead"] == len(ranged["items"])


def test_paging_has_no_duplicates_or_gaps(
    app: RunningApp, storage_connection_string: str, old_entries: list[OutboundLogEntry], window: tuple[int, str]
) -> None:
    start = window[0]
    everything = {"from": iso(start), "to": iso(start + 29_000)}
    # The main scan, 7 at a time.
    items, pages = all_pages(app, **everything, limit=7)
    assert ids(items) == [e.id for e in old_entries]
    assert [len(p["items"]) for p in pages][:4] == [7, 7, 7, 7]
    assert all(p["entitiesRead"] <= len(p["items"]) + 7 for p in pages)
    # With a client-side filter, resuming mid-page.
    boom = [e.id for e in old_entries if e.error and "Boom" in e.error]
    filtered, pages = all_pages(app, **everything, error="boom", limit=4)
    assert ids(filtered) == boom and len(pages) >= 4
    # A customer's index partition: each page reads only what it returns.
    customer = unique("paged")
    mine = [entry(customer_id=customer, customer_name="Pat", epoch_ms=start + 40_000 + i, identifier=f"p-{i}")
            for i in range(25)]
    write_entries(storage_connection_string, mine)
    items, pages = all_pages(app, customerId=customer, limit=10)
    assert ids(items) == sorted(e.id for e in mine)
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    assert [p["entitiesRead"] for p in pages] == [10, 10, 5]
    # A token belongs to its filters.
    token = pages[0]["continuationToken"]
    other = app.client.get("/api/outbound-logs", params={"customerId": "someone-else", "continuationToken": token})
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "continuationToken"


def test_bad_parameters_are_named(app: RunningApp) -> None:
    response = app.client.get("/api/outbound-logs", params={
        "statusCode": "abc", "limit": "0", "from": "yesterday", "target": "salesforce",
        "continuationToken": "not-a-token",
    })
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"statusCode", "limit", "from", "target"}
    for params, field in [
        ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"), ({"statusCode": "600"}, "statusCode"),
        ({"statusCode": "6xx"}, "statusCode"), ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-02-02T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, "from"),
        ({"continuationToken": "garbage!"}, "continuationToken"), ({"customerId": "x" * 300}, "customerId"),
    ]:
        response = app.client.get("/api/outbound-logs", params=params)
        assert response.status_code == 400, (params, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    assert get_list(app, identifier="", customerId=" ", limit="1")["items"] is not None  # empty = absent


def test_entry_detail_with_a_customers_slice(
    app: RunningApp, storage_connection_string: str, window: tuple[int, str]
) -> None:
    start, tag = window
    ann, bob = unique("ann"), unique("bob")
    batch = OutboundLogEntry(
        target="insider", operation="upsert", method="POST", url="https://sandbox/api/user/v1/upsert",
        status_code=200, response_time_seconds=0.4, error=None, identifier=unique("sync"),
        request_body='{"users":[{"identifiers":{"uuid":"a"}},{"identifiers":{"uuid":"b"}}]}',
        response_body='{"data":{"successful":{"count":1}},"errors":{"count":1}}', epoch_ms=start + 50_000,
        customers=[
            CustomerSlice(ann, "Ann", '{"identifiers":{"uuid":"a"}}', None, None),
            CustomerSlice(bob, "Bob", '{"identifiers":{"uuid":"b"}}', '{"reason":"invalid email"}',
                          f"invalid email {tag}"),
        ],
    )
    write_entries(storage_connection_string, [batch])

    (bob_item,) = get_list(app, customerId=bob)["items"]
    assert bob_item["id"] == batch.id and bob_item["customerName"] == "Bob"
    assert bob_item["error"] == f"invalid email {tag}" and bob_item["target"] == "insider"
    assert ids(get_list(app, customerId=bob, error="INVALID EMAIL")["items"]) == [batch.id]
    assert get_list(app, customerId=ann, error="invalid email")["items"] == []

    detail = app.client.get(f"/api/outbound-logs/{batch.id}", params={"customerId": bob}).json()
    assert detail["requestBody"] == '{"identifiers":{"uuid":"b"}}'
    assert detail["responseBody"] == '{"reason":"invalid email"}'
    assert detail["requestBodyScope"] == detail["responseBodyScope"] == "customer"
    assert detail["customerId"] == bob and detail["error"] == f"invalid email {tag}" and detail["entitiesRead"] == 1
    # Ann's slice has no result of its own: the response body falls back to the whole request's.
    detail = app.client.get(f"/api/outbound-logs/{batch.id}", params={"customerId": ann}).json()
    assert detail["requestBody"] == '{"identifiers":{"uuid":"a"}}' and detail["responseBody"] == batch.response_body
    assert detail["responseBodyScope"] == "request" and detail["entitiesRead"] == 2
    # Without customerId: the main entity, the whole request.
    detail = app.client.get(f"/api/outbound-logs/{batch.id}").json()
    assert detail["requestBody"] == batch.request_body and detail["customerCount"] == 2
    assert detail["customerId"] is None and detail["entitiesRead"] == 1

    missing = app.client.get(f"/api/outbound-logs/{batch.id[:-1]}0" if not batch.id.endswith("0")
                             else f"/api/outbound-logs/{batch.id[:-1]}1")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    not_a_member = app.client.get(f"/api/outbound-logs/{batch.id}", params={"customerId": "nobody"})
    assert not_a_member.status_code == 404
    malformed = app.client.get("/api/outbound-logs/not-an-id")
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "id"


def test_routes_need_the_function_key_but_the_page_does_not(app: RunningApp) -> None:
    anonymous = httpx.Client(base_url=app.client.base_url)
    assert anonymous.get("/api/outbound-logs").status_code == 401
    assert anonymous.get("/api/outbound-logs/8230386423999-1f2e3d4c5b").status_code == 401
    page = anonymous.get("/api/outbound-logs/page")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<title>Outbound logs</title>" in page.text
    anonymous.close()
