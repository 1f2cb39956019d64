"""Insider sync end to end: mapping, preview, sync now, the bulk queue, partial failures, odd replies, 403 pause."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess
from shared.outbound_log.writer import customer_index_filter
from tests.integration.conftest import CANARY_INSIDER_KEY, RunningApp, poll_batch, run_app, wait_until


def customer(n: int, tag: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"{tag}-{n}", "name": f"Customer {n}", "attributes": {
        "email": f"c{n}@example.com", "first_name": "Ada", "country": "za", "language": "en-ZA",
        "tier": "Gold", "email_optin": "yes", **extra}}


PURCHASE = {"name": "purchase", "timestamp": "2026-01-10T21:35:20Z", "params": {
    "order_id": "ORDER123", "currency": "USD", "quantity": 1, "sale_price": 890.9, "price": 990.9,
    "product_id": "ABC21000", "category": ["Electronic", "Phone"], "points": 90}}


def upserts(upstream: SandboxControl) -> list[dict[str, Any]]:
    return upstream.requests(target="insider-upsert")


@pytest.fixture
def clean_mapping(app: RunningApp) -> Iterator[None]:
    """Tests that store a mapping put the default back afterwards."""
    yield
    current = app.client.get("/api/insider/mapping")
    default = json.loads(Path("shared/insider/mapping.default.json").read_text())
    app.client.put("/api/insider/mapping", json=default, headers={"If-Match": current.headers["etag"]})


def test_preview_is_exactly_what_sync_then_sends(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex[:8]
    customers = [customer(1, tag, birthday="1990-01-01"), {**customer(2, tag), "events": [PURCHASE]}]
    preview = app.client.post("/api/insider/mapping/preview", json={"customers": customers})
    assert preview.status_code == 200, preview.text
    assert [r["status"] for r in preview.json()["results"]] == ["valid", "valid"]
    (expected,) = preview.json()["requests"]
    assert upserts(upstream) == []  # a preview sends nothing

    response = app.client.post("/api/insider/sync", json={"customers": customers})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["synced", "synced"]
    (sent,) = upserts(upstream)
    assert sent["json"] == expected
    assert sent["headers"]["x-partner-name"] == "sandboxpartner"
    assert sent["headers"]["x-request-token"] == CANARY_INSIDER_KEY
    user = expected["users"][1]
    assert user["identifiers"] == {"uuid": f"{tag}-2", "email": "c2@example.com"}
    assert user["attributes"]["custom"] == {"loyalty_tier": "Gold"}
    assert user["attributes"]["language"] == "en_ZA" and user["attributes"]["country"] == "ZA"
    assert user["events"][0]["event_params"]["event_group_id"] == "ORDER123"
    assert user["events"][0]["event_params"]["custom"] == {"points_earned": 90}


def test_invalid_customers_are_rejected_by_field_and_rule_and_the_rest_go_on(
    app: RunningApp, upstream: SandboxControl
) -> None:
    tag = uuid.uuid4().hex[:8]
    bad = customer(2, tag, birthday="last tuesday", phone="12345")
    response = app.client.post("/api/insider/sync", json={"customers": [customer(1, tag), bad, {"name": "no id"}]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["synced", "rejected", "rejected"]
    fields = {e["field"] for e in results[1]["errors"]}
    assert {"attributes.birthday", "attributes.phone"} <= fields
    assert all(e["rule"] for e in results[1]["errors"])
    (sent,) = upserts(upstream)
    assert [u["identifiers"]["uuid"] for u in sent["json"]["users"]] == [f"{tag}-1"]


def test_partial_failures_land_on_the_right_customer_and_in_its_log(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    upstream.configure(purchase_requires_quantity=True)  # Insider's table requires it; our mapping does not
    tag = uuid.uuid4().hex[:8]
    no_quantity = {**PURCHASE, "params": {k: v for k, v in PURCHASE["params"].items() if k != "quantity"}}
    customers = [customer(1, tag), {**customer(2, tag), "events": [no_quantity]}, customer(3, tag)]
    response = app.client.post("/api/insider/sync", json={"customers": customers})
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["synced", "failed", "synced"]
    assert "quantity" in results[1]["errors"][0]["message"]

    async def slice_of(customer_id: str) -> dict[str, Any]:
        async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
            table = service.get_table_client("outboundlog")
            query = table.query_entities(customer_index_filter(customer_id))
            entities = [dict(e) async for e in query]
            return entities[0]

    failed = asyncio.run(slice_of(f"{tag}-2"))
    assert "quantity" in failed["Error"] and failed["CustomerName"] == "Customer 2"
    assert json.loads(failed["RequestBody"])["identifiers"]["uuid"] == f"{tag}-2"
    synced = asyncio.run(slice_of(f"{tag}-3"))
    assert synced["ResponseBody"] == "synced" and "Error" not in synced


def test_mapping_get_put_with_etags(app: RunningApp, clean_mapping: None) -> None:
    current = app.client.get("/api/insider/mapping")
    assert current.status_code == 200
    etag = current.headers["etag"]
    document = current.json()
    document["profile"].append({"source": "nickname", "insider": "nick_name", "custom": True})
    assert app.client.put("/api/insider/mapping", json=document).status_code == 428
    saved = app.client.put("/api/insider/mapping", json=document, headers={"If-Match": etag})
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] != etag
    stale = app.client.put("/api/insider/mapping", json=document, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert app.client.get("/api/insider/mapping").json()["profile"][-1]["insider"] == "nick_name"
    invalid = {"identifiers": [], "profile": [{"source": "x", "insider": "not_a_default"}], "events": "no"}
    bad = app.client.put("/api/insider/mapping", json=invalid, headers={"If-Match": saved.headers["etag"]})
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"/identifiers", "/events"} <= fields and any(f.startswith("/profile/0") for f in fields)


def test_mapping_schema_lists_the_source_fields_the_stored_mapping_reads(app: RunningApp, clean_mapping: None) -> None:
    default = app.client.get("/api/insider/mapping/schema")
    assert default.status_code == 200, default.text
    attributes, params = default.json()["attributes"], default.json()["eventParams"]
    assert attributes["type"] == "object" and "id" not in attributes["properties"]
    assert attributes["properties"]["email_optin"]["type"] == "boolean"
    assert attributes["properties"]["email"]["description"] == "Sent to Insider as identifiers.email."
    assert params["properties"]["price"] == {"type": "number", "description": "Sent to Insider as "
                                             "event_params.unit_price of purchase events."}

    current = app.client.get("/api/insider/mapping")
    document = current.json()
    document["profile"].append({"source": "nickname", "insider": "nick_name", "custom": True})
    saved = app.client.put("/api/insider/mapping", json=document, headers={"If-Match": current.headers["etag"]})
    assert saved.status_code == 200, saved.text
    changed = app.client.get("/api/insider/mapping/schema").json()["attributes"]["properties"]
    assert changed["nickname"] == {"description": "Sent to Insider as attributes.custom.nick_name."}
    assert app.client.get("/api/insider/mapping/schema", headers={"x-functions-key": ""}).status_code == 401


async def enqueue(azurite: Azurite, queue_name: str, messages: list[dict[str, Any]]) -> None:
    """A producer writing JSON messages, base64 as the host expects."""
    async with QueueClient.from_connection_string(
        azurite.connection_string, queue_name, message_encode_policy=TextBase64EncodePolicy()
    ) as queue:
        await queue.create_queue()
        gate = asyncio.Semaphore(32)

        async def send(message: dict[str, Any]) -> None:
            async with gate:
                await queue.send_message(json.dumps(message))

        await asyncio.gather(*(send(m) for m in messages))


@pytest.mark.parametrize(("per_message", "total", "most_requests"), [(100, 10_000, 12), (1, 1_000, 2)])
def test_queued_updates_are_packed_into_few_upserts(
    azurite: Azurite, sandbox: SandboxProcess, upstream: SandboxControl, per_message: int, total: int,
    most_requests: int,
) -> None:
    """Updates already waiting on the queue go out in requests of up to 1,000 users."""
    tag = uuid.uuid4().hex[:8]
    queue_name = f"insider-bulk-{tag}"
    customers = [customer(n, tag) for n in range(total)]
    messages = [{"customers": customers[i : i + per_message]} for i in range(0, total, per_message)]
    asyncio.run(enqueue(azurite, queue_name, messages))
    app = run_app(azurite, sandbox, INSIDER_SYNC_QUEUE=queue_name)
    try:

        def applied() -> int:
            return sum(len(r["json"]["users"]) for r in upserts(upstream) if r["status"] == 200) >= total

        wait_until(applied, timeout=180, interval=0.5)
    finally:
        app.client.close()
        app.process.stop()
    requests = upserts(upstream)
    print(f"{total:,} queued profile updates in {len(messages):,} messages: {len(requests)} upsert requests")
    assert len(requests) <= most_requests
    sent = [u["identifiers"]["uuid"] for r in requests for u in r["json"]["users"]]
    assert sorted(sent) == sorted(c["id"] for c in customers)  # each exactly once


def test_insider_id_per_attribute_append_and_the_error_callback_reach_insider(
    azurite: Azurite, sandbox: SandboxProcess, upstream: SandboxControl
) -> None:
    """Issue 14 end to end: preview warns about an unlisted root attribute, sync sends what preview showed."""
    tag = uuid.uuid4().hex[:8]
    callback = "https://hooks.example.com/insider-errors"
    mapping = json.loads(Path("shared/insider/mapping.default.json").read_text())
    mapping["insiderId"] = {"source": "insider_profile_id"}
    mapping["profile"] += [{"source": "lists", "insider": "list_id", "append": False},
                           {"source": "card", "insider": "loyalty_card", "default": True}]
    app = run_app(azurite, sandbox, INSIDER_ERROR_CALLBACK_URL=callback, INSIDER_MAPPING_CONTAINER=f"mapping-{tag}")
    try:
        stored = app.client.get("/api/insider/mapping")
        put = app.client.put("/api/insider/mapping", json=mapping, headers={"If-Match": stored.headers["etag"]})
        assert put.status_code == 200, put.text
        customers = [customer(1, tag, insider_profile_id=f"iid-{tag}", lists=[1, 2], card="gold"), customer(2, tag)]
        preview = app.client.post("/api/insider/mapping/preview", json={"customers": customers})
        assert preview.status_code == 200, preview.text
        assert [w["field"] for w in preview.json()["mappingWarnings"]] == ["/profile/13/insider"]
        (expected,) = preview.json()["requests"]
        assert expected["error_callback_endpoint"] == callback
        first, second = expected["users"]
        assert first["insider_id"] == f"iid-{tag}" and "identifiers" not in first
        assert first["attributes"]["list_id"] == [1, 2] and first["attributes"]["loyalty_card"] == "gold"
        assert first["not_append"] is True
        assert second["identifiers"] == {"uuid": f"{tag}-2", "email": "c2@example.com"} and "not_append" not in second

        response = app.client.post("/api/insider/sync", json={"customers": customers})
        assert [r["status"] for r in response.json()["results"]] == ["synced", "synced"], response.text
        (sent,) = upserts(upstream)
        assert sent["json"] == expected
    finally:
        app.client.close()
        app.process.stop()


def test_a_403_pauses_sending_and_loses_nothing(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex[:8]
    upstream.configure(insider_api_key="rotated-by-someone")
    body = {"customers": [customer(n, tag) for n in range(30)]}
    accepted = app.client.post("/api/insider/sync?mode=async", json=body)
    assert accepted.status_code == 202, accepted.text
    wait_until(lambda: any(r["status"] == 403 for r in upserts(upstream)))

    def paused() -> bool:  # the pause is written right after the 403 answer: wait for it to be in force
        response = app.client.post("/api/insider/sync", json={"customers": [customer(99, tag)]})
        return response.status_code == 503 and "paused" in response.text

    wait_until(paused)
    sent = len(upserts(upstream))
    assert app.client.post("/api/insider/sync", json={"customers": [customer(98, tag)]}).status_code == 503
    assert len(upserts(upstream)) == sent  # nothing more is sent while paused
    assert all(r["status"] == 403 for r in upserts(upstream))

    upstream.configure(insider_api_key=CANARY_INSIDER_KEY)  # the key is fixed on Insider's side
    assert app.client.post("/api/insider/resume").json() == {"resumed": True}
    result = poll_batch(app, accepted.headers["location"], timeout=120)
    assert result["counts"]["synced"] == 30
    assert {item["customerId"] for item in result["items"]} == {f"{tag}-{n}" for n in range(30)}


# The sandbox's odd 200s (sandbox/insider_replies.py) and a piece of each body the log entry must keep.
UNCONFIRMING_REPLIES = {"not-json": "<html>", "empty": "", "unknown-shape": "success",
                        "unindexed-failures": "unification", "short-count": '"successful"',
                        "excess-fail-count": '"fail"'}


def logged_reply(app: RunningApp, identifier: str) -> dict[str, Any]:
    """The outbound log entry of an upsert request, with its bodies."""
    items = app.client.get("/api/outbound-logs", params={"identifier": identifier}).json()["items"]
    (item,) = [i for i in items if i["operation"] == "upsert"]
    return app.client.get(f"/api/outbound-logs/{item['id']}").json()


@pytest.mark.parametrize("kind", sorted(UNCONFIRMING_REPLIES))
def test_an_unconfirming_200_answers_every_customer_unconfirmed_and_retryable(
    app: RunningApp, upstream: SandboxControl, kind: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    upstream.insider_upsert_reply(kind, count=1)
    try:
        response = app.client.post("/api/insider/sync", json={"customers": [customer(1, tag), customer(2, tag)]})
    finally:
        upstream.insider_upsert_reply(None)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["status"], r["retryable"]) for r in results] == [("unconfirmed", True)] * 2
    assert all(r["errors"][0]["rule"] == "unconfirmed" for r in results)
    entry = logged_reply(app, response.json()["identifier"])
    assert entry["statusCode"] == 200 and UNCONFIRMING_REPLIES[kind] in (entry["responseBody"] or "")  # Insider's body


def test_an_unconfirmed_customer_on_the_queue_is_retried_until_confirmed(
    app: RunningApp, upstream: SandboxControl
) -> None:
    tag = uuid.uuid4().hex[:8]
    upstream.insider_upsert_reply("short-count", count=1)
    try:
        body = {"customers": [customer(n, tag) for n in range(3)]}
        accepted = app.client.post("/api/insider/sync?mode=async", json=body)
        assert accepted.status_code == 202, accepted.text
        result = poll_batch(app, accepted.headers["location"], timeout=120)
    finally:
        upstream.insider_upsert_reply(None)
    assert result["counts"]["synced"] == 3
    assert {item["attempts"] for item in result["items"]} == {2}  # the first 200 confirmed none of them
    mine = [r for r in upserts(upstream) if r["json"] and r["json"]["users"][0]["identifiers"]["uuid"].startswith(tag)]
    assert len(mine) == 2


def test_an_etag_with_a_comma_cannot_match_even_before_any_mapping_is_stored(
    azurite: Azurite, sandbox: SandboxProcess
) -> None:
    """A comma is valid in an entity tag, but Blob storage reads it as a list and refuses the request (a 500 once,
    on an empty container): the store never issues one, so it answers 412 like any ETag that does not match."""
    app = run_app(azurite, sandbox, INSIDER_MAPPING_CONTAINER=f"mapping-{uuid.uuid4().hex[:8]}")
    try:
        document = app.client.get("/api/insider/mapping").json()
        listed = app.client.put("/api/insider/mapping", json=document, headers={"If-Match": '"M,n=I,q"'})
        assert listed.status_code == 412, listed.text
    finally:
        app.client.close()
        app.process.stop()
