"""Erase, delete attributes and read a profile back, end to end: the app in the local runner, Azurite, the sandbox.

An erased customer is gone from Insider and its personal data from the app's own tables: every outbound log
entry of it (both platforms, single and batched requests), its delivery records and batch items.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from tests.integration.conftest import RunningApp, poll_batch, wait_until

ERASE_TARGETS = {"delete": "insider-delete", "anonymize": "insider-anonymize"}


def person(tag: str, n: int = 1) -> dict[str, Any]:
    """A customer with personal data in every place the app keeps: name, email, phone."""
    return {"id": f"{tag}-{n}", "name": f"Ada Lovelace {tag}-{n}", "attributes": {
        "email": f"ada.{tag}.{n}@example.com", "phone": f"+27 82 {n:03d} {int(tag[:4], 16) % 10000:04d}",
        "first_name": "Ada", "tier": "Gold"}}


def personal_values(customer: dict[str, Any]) -> list[str]:
    phone = customer["attributes"]["phone"]
    return [customer["name"], customer["attributes"]["email"], phone, phone.replace(" ", "")]


async def _entities(azurite: Azurite, table: str) -> list[dict[str, Any]]:
    async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        return [dict(e) async for e in service.get_table_client(table).query_entities("")]


def holding(azurite: Azurite, values: list[str]) -> dict[str, list[str]]:
    """Every entity of the log, delivery and batch tables (a test may scan) whose text holds one of `values`."""
    found: dict[str, list[str]] = {}
    for table in ("outboundlog", "deliveries", "batchitems"):
        for entity in asyncio.run(_entities(azurite, table)):
            text = json.dumps(entity, default=str, ensure_ascii=False)
            text += json.dumps(entity, default=str)  # as JSON escapes it too
            if any(v in text for v in values):
                found.setdefault(table, []).append(f"{entity['PartitionKey']}/{entity['RowKey']}")
    return found


async def _put(azurite: Azurite, queue_name: str, message: dict[str, Any]) -> None:
    """A producer's message, base64 as the host expects."""
    async with QueueClient.from_connection_string(azurite.connection_string, queue_name,
                                                  message_encode_policy=TextBase64EncodePolicy()) as queue:
        await queue.send_message(json.dumps(message))


def log_items(app: RunningApp, **params: Any) -> list[dict[str, Any]]:
    response = app.client.get("/api/outbound-logs", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def sync_everywhere(app: RunningApp, customer: dict[str, Any], other: dict[str, Any]) -> None:
    """Put the customer's personal data in every table: Insider syncs now (alone and batched with `other`) and
    queued, an inQuba publish and an inQuba batch item."""
    alone = app.client.post("/api/insider/sync", json={"customers": [customer]})
    assert alone.json()["results"][0]["status"] == "synced", alone.text
    both = app.client.post("/api/insider/sync", json={"customers": [customer, other]})
    assert [r["status"] for r in both.json()["results"]] == ["synced", "synced"], both.text
    queued = app.client.post("/api/insider/sync?mode=async", json={"customers": [customer]})
    assert poll_batch(app, queued.headers["location"])["counts"]["synced"] == 1
    event = {"eventDefinitionCode": "WELCOME_SMS", "customerId": customer["id"], "customerName": customer["name"],
             "attributes": {"Email": customer["attributes"]["email"], "Mobile": customer["attributes"]["phone"]}}
    published = app.client.post("/api/inquba/events", json={**event, "identifier": f"ev-{customer['id']}"})
    assert published.status_code == 200, published.text
    batch = app.client.post("/api/inquba/events/batch", json={"events": [event]})
    assert poll_batch(app, batch.headers["location"])["counts"]["delivered"] == 1


@pytest.mark.parametrize("action", ["delete", "anonymize"])
def test_a_synced_customer_is_erased_from_insider_and_from_every_copy_of_ours(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite, action: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer, other = person(tag, 1), person(tag, 2)
    sync_everywhere(app, customer, other)
    assert holding(azurite, personal_values(customer)).keys() == {"outboundlog", "batchitems"}
    entries = log_items(app, customerId=customer["id"])
    assert {e["target"] for e in entries} == {"insider", "inquba"} and len(entries) >= 5
    succeeded = len(log_items(app, customerId=customer["id"], statusCode="2xx"))

    response = app.client.post("/api/insider/erase", json={"customers": [customer], "action": action})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert response.json()["action"] == action
    assert (result["customerId"], result["status"], result["errors"]) == (customer["id"], "erased", [])
    assert result["copies"]["outboundLogEntries"] == len(entries)
    # The publish's delivery record; the batch items of the queued sync and of the inQuba batch.
    assert result["copies"]["deliveryRecords"] == 1 and result["copies"]["batchItems"] == 2

    # Insider got one request for the customer, with the identifiers a sync sends.
    (sent,) = [r for r in upstream.requests(target=ERASE_TARGETS[action]) if r["json"]["identifiers"].get("uuid")
               == customer["id"]]
    assert sent["json"] == {"identifiers": {"uuid": customer["id"], "email": customer["attributes"]["email"],
                                            "phone_number": customer["attributes"]["phone"].replace(" ", "")}}
    users = [u for u in upstream.insider_users() if u["identifiers"].get("uuid") == customer["id"]]
    assert users == [] if action == "delete" else all(u["anonymized"] for u in users) and users

    # Nothing of ours holds its email, phone or name; the other customer of the batched request keeps its own.
    assert holding(azurite, personal_values(customer)) == {}
    assert "outboundlog" in holding(azurite, [other["attributes"]["email"]])
    # The entries still count and filter by status, and the erase request is logged without the identifiers.
    after = log_items(app, customerId=customer["id"])
    assert len(after) == len(entries) + 1
    assert len(log_items(app, customerId=customer["id"], statusCode="2xx")) == succeeded + 1
    erase_entry = after[0]
    assert (erase_entry["operation"], erase_entry["customerName"], erase_entry["statusCode"]) == (action, None, 200)
    logged = app.client.get(f"/api/outbound-logs/{erase_entry['id']}").json()
    assert json.loads(logged["requestBody"]) == {"identifiers": {"uuid": "***REDACTED***", "email": "***REDACTED***",
                                                                 "phone_number": "***REDACTED***"}}
    assert erase_entry["erasedAt"] is None
    for item in after[1:]:
        detail = app.client.get(f"/api/outbound-logs/{item['id']}", params={"customerId": customer["id"]}).json()
        assert detail["customerName"] is None and detail["statusCode"] is not None and detail["erasedAt"]
        assert detail["requestBody"] == "[erased]"
    # Erasing again finds the same entries and leaves nothing new behind.
    again = app.client.post("/api/insider/erase", json={"customers": [customer], "action": "delete"})
    assert again.json()["results"][0]["status"] == "erased"
    assert holding(azurite, personal_values(customer)) == {}


def test_an_unknown_customer_is_not_found(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex[:8]
    unknown = person(tag)
    anonymized = app.client.post("/api/insider/erase", json={"customers": [unknown], "action": "anonymize"})
    assert anonymized.json()["results"][0]["status"] == "not-found"  # Insider's documented 404
    assert anonymized.json()["results"][0]["copies"] == {"outboundLogEntries": 0, "deliveryRecords": 0,
                                                         "batchItems": 0}
    # Delete documents only 200 {} (an unknown user too): not-found is Insider's 404 alone, as injected here.
    deleted = app.client.post("/api/insider/erase", json={"customers": [unknown], "action": "delete"})
    assert deleted.json()["results"][0]["status"] == "erased"
    upstream.configure(error_rates={"404": 1.0}, error_targets=["insider-delete"])
    deleted = app.client.post("/api/insider/erase", json={"customers": [unknown], "action": "delete"})
    assert deleted.json()["results"][0]["status"] == "not-found"


def test_rejected_and_failed_customers_are_answered_as_such(app: RunningApp, upstream: SandboxControl) -> None:
    """A customer the mapping yields no identifier for is `rejected` (tests/insider/test_erase_units.py); one with
    a blank id never gets that far: the document says an id is not blank, and the route answers 400 naming it."""
    tag = uuid.uuid4().hex[:8]
    blank = app.client.post("/api/insider/erase", json={"customers": [{"id": " "}], "action": "anonymize"})
    assert blank.status_code == 400 and blank.json()["errors"][0]["field"] == "customers[0].id"
    upstream.configure(error_rates={"400": 1.0}, error_targets=["insider-anonymize"])
    response = app.client.post("/api/insider/erase", json={"customers": [person(tag)], "action": "anonymize"})
    assert response.status_code == 200, response.text
    (failed,) = response.json()["results"]
    assert (failed["status"], failed["retryable"], failed["errors"][0]["rule"]) == ("failed", False, "http-400")
    assert upstream.requests(target="insider-anonymize")[-1]["json"]["identifiers"]["uuid"] == f"{tag}-1"
    bad = app.client.post("/api/insider/erase", json={"customers": [person(tag)], "action": "forget"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "action"
    twice = app.client.post("/api/insider/erase", json={"customers": [person(tag), person(tag)], "action": "delete"})
    assert twice.status_code == 400 and "repeats" in twice.json()["errors"][0]["message"]


def test_a_429_storm_is_ridden_out_with_retry_after(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex[:8]
    customers = [person(tag, n) for n in range(6)]
    assert app.client.post("/api/insider/sync", json={"customers": customers}).status_code == 200
    upstream.set_rate_limits({"insider-anonymize": 2}, window_seconds=1)
    started = time.monotonic()
    response = app.client.post("/api/insider/erase", json={"customers": customers, "action": "anonymize"})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["erased"] * 6
    sent = upstream.requests(target="insider-anonymize")
    throttled = [r for r in sent if r["status"] == 429]
    assert throttled, "the storm did not happen"
    print(f"6 anonymisations at 2 a second: {len(sent)} requests, {len(throttled)} answered 429, "
          f"{time.monotonic() - started:.1f} s")
    ok = [r["json"]["identifiers"]["uuid"] for r in sent if r["status"] == 200]
    assert sorted(ok) == sorted(c["id"] for c in customers)  # one request per customer got through
    # The sandbox's Retry-After is 1 s here: after a 429 nothing more was sent until it had passed (a request
    # already on its way aside).
    for refused in throttled:
        early = [r for r in sent if refused["time"] + 0.3 < r["time"] < refused["time"] + 0.9]
        assert not early, (refused, early)


def test_a_queue_producer_erases_with_an_erase_message(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer = person(tag)
    assert app.client.post("/api/insider/sync", json={"customers": [customer]}).status_code == 200
    asyncio.run(_put(azurite, "insider-sync", {"kind": "erase", "action": "delete", "customers": [customer]}))
    wait_until(lambda: [r for r in upstream.requests(target="insider-delete")
                        if r["json"]["identifiers"]["uuid"] == customer["id"]])
    wait_until(lambda: holding(azurite, personal_values(customer)) == {} or None)
    assert [u for u in upstream.insider_users() if u["identifiers"].get("uuid") == customer["id"]] == []


def test_attribute_deletion_packs_2500_customers_into_3_requests_and_maps_a_partial_failure(
    app: RunningApp, upstream: SandboxControl
) -> None:
    tag = uuid.uuid4().hex[:8]
    customers = [{"id": f"{tag}-{n}", "attributes": {"email": f"u{n}.{tag}@example.com"}} for n in range(2500)]
    upstream.configure(insider_blocked_identifiers=[f"{tag}-1234"])
    body = {"customers": customers, "whole": ["city", "name"], "custom": {"whole": ["loyalty_tier"],
                                                                          "partial": {"badges": ["gold"]}}}
    accepted = app.client.post("/api/insider/attributes/delete", json=body)
    assert accepted.status_code == 202, accepted.text
    result = poll_batch(app, accepted.headers["location"], timeout=120)
    assert result["kind"] == "insider-attributes"
    assert result["counts"]["deleted"] == 2499 and result["counts"]["failed"] == 1
    (failed,) = [i for i in result["items"] if i["status"] == "failed"]
    assert failed["customerId"] == f"{tag}-1234" and "blocked" in failed["error"]
    requests = [r for r in upstream.requests(target="insider-attributes-delete")
                if r["json"]["users"][0]["identifiers"]["uuid"].startswith(tag)]
    assert sorted(len(r["json"]["users"]) for r in requests) == [500, 1000, 1000]
    user = requests[0]["json"]["users"][0]
    assert set(user) == {"identifiers", "whole", "custom"} and user["whole"] == ["city", "name"]
    assert user["custom"] == {"whole": ["loyalty_tier"], "partial": {"badges": ["gold"]}}


def test_attribute_deletion_of_a_few_customers_answers_each_at_once(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex[:8]
    customers = [person(tag, n) for n in range(3)]
    assert app.client.post("/api/insider/sync", json={"customers": customers}).status_code == 200
    upstream.configure(insider_blocked_identifiers=[f"{tag}-2"])
    body = {"customers": customers, "whole": ["name"]}
    response = app.client.post("/api/insider/attributes/delete", json=body)
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["deleted", "deleted", "failed"]
    assert response.json()["results"][2]["errors"][0]["message"] == f"identifier value is blocked: {tag}-2"
    assert len(response.json()["identifiers"]) == 1
    names = {u["identifiers"]["uuid"]: u["attributes"].get("name") for u in upstream.insider_users()
             if u["identifiers"].get("uuid", "").startswith(tag)}
    assert names == {f"{tag}-0": None, f"{tag}-1": None, f"{tag}-2": "Ada"}
    identifier = app.client.post("/api/insider/attributes/delete", json={**body, "whole": ["email"]})
    assert identifier.status_code == 400 and identifier.json()["errors"][0]["field"] == "whole[0]"


def test_the_profile_route_answers_the_sandboxs_profile_of_a_synced_customer(
    app: RunningApp, upstream: SandboxControl
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer = {**person(tag), "events": [{"name": "purchase", "timestamp": "2026-01-10T21:35:20Z", "params": {
        "order_id": "A1", "currency": "USD", "quantity": 1, "sale_price": 9.5}}]}
    assert app.client.post("/api/insider/sync", json={"customers": [customer]}).status_code == 200
    response = app.client.post("/api/insider/profile", json={"customer": {"id": customer["id"]},
                                                             "events": ["purchase"]})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["customerId"], answer["found"], answer["identifiers"]) == (customer["id"], True,
                                                                              {"uuid": customer["id"]})
    assert answer["profile"]["attributes"]["name"] == "Ada"
    assert answer["profile"]["attributes"]["email"] == customer["attributes"]["email"]
    assert answer["profile"]["events"]["purchase"][0]["event_group_id"] == "A1"
    (sent,) = upstream.requests(target="insider-profile")
    assert sent["json"]["attributes"] == ["*"] and sent["json"]["events"]["wanted"] == [{"event_name": "purchase"}]
    missing = app.client.post("/api/insider/profile", json={"customer": {"id": f"{tag}-none"}})
    assert (missing.status_code, missing.json()["found"], missing.json()["profile"]) == (200, False, None)
    no_identifier = app.client.post("/api/insider/profile", json={"customer": {"id": " "}})
    assert no_identifier.status_code == 400 and no_identifier.json()["errors"][0]["field"] == "customer.id"
