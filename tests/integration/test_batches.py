"""Queue-driven publishing: batches, 202 + Location polling, retries, dead letters, replay, duplicates."""

from __future__ import annotations

import asyncio
import json
import uuid

from azure.data.tables.aio import TableServiceClient
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from shared.outbound_log.writer import identifier_partition
from tests.integration.conftest import RunningApp, poll_batch, wait_until


def events(n: int, tag: str) -> list[dict[str, object]]:
    return [{"eventDefinitionCode": "BATCH", "attributes": {"tag": tag, "n": i}} for i in range(n)]


def sent_numbers(upstream: SandboxControl, tag: str) -> list[int]:
    numbers = []
    for request in upstream.requests(target="inquba-events"):
        attrs = {a["code"]: a["value"] for a in (request["json"] or {}).get("attributes", [])}
        if attrs.get("tag") == tag and request["status"] == 200:
            numbers.append(int(attrs["n"]))
    return sorted(numbers)


def queue_client(azurite: Azurite, name: str) -> QueueClient:
    return QueueClient.from_connection_string(
        azurite.connection_string, name,
        message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy(),
    )


async def send_raw(azurite: Azurite, name: str, text: str) -> None:
    async with queue_client(azurite, name) as queue:
        await queue.send_message(text)


async def queue_length(azurite: Azurite, name: str) -> int:
    async with queue_client(azurite, name) as queue:
        return (await queue.get_queue_properties()).approximate_message_count


async def poison_messages(azurite: Azurite, name: str) -> list[dict[str, object]]:
    async with queue_client(azurite, f"{name}-poison") as queue:
        return [json.loads(m.content) for m in await queue.peek_messages(max_messages=32)]


async def log_entries_for(azurite: Azurite, identifier: str) -> list[dict[str, object]]:
    async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.get_table_client("outboundlog")
        query = table.query_entities("PartitionKey eq @pk", parameters={"pk": identifier_partition(identifier)})
        return [dict(e) async for e in query if e["Operation"] != "token"]


def test_batch_is_accepted_with_location_and_every_item_delivered(app: RunningApp, upstream: SandboxControl) -> None:
    tag = uuid.uuid4().hex
    # An earlier test may have expired the session app's cached token (/_control/tokens/expire): one publish
    # renews it first, so that every item below is delivered at its first attempt.
    assert app.client.post("/api/inquba/events", json={"eventDefinitionCode": "WARM"}).status_code == 200
    response = app.client.post("/api/inquba/events/batch", json={"events": events(25, tag)})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 25 and len(set(body["identifiers"])) == 25
    # absolute, on the host the caller used, as Logic Apps' HTTP action and the Azure SDK pollers expect
    assert response.headers["location"] == f"{app.client.base_url.scheme}://{app.client.base_url.netloc.decode()}" \
        f"/api/requests/{body['batchId']}"
    assert int(response.headers["retry-after"]) > 0
    result = poll_batch(app, response.headers["location"])
    assert result["status"] == "completed" and result["counts"]["delivered"] == 25
    assert {item["identifier"] for item in result["items"]} == set(body["identifiers"])
    assert all(item["upstreamStatus"] == 200 and item["attempts"] == 1 for item in result["items"])
    assert sent_numbers(upstream, tag) == list(range(25))


def test_a_bad_item_rejects_the_whole_batch_naming_index_and_field(app: RunningApp, upstream: SandboxControl) -> None:
    items = events(5, "bad")
    items[3] = {"attributes": {"x": 1}}
    items[4]["isTest"] = "no"
    response = app.client.post("/api/inquba/events/batch", json={"events": items})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"events[3].eventDefinitionCode", "events[4].isTest"}
    too_many = app.client.post("/api/inquba/events/batch", json={"events": events(1001, "x")})
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["field"] == "events"
    dup = app.client.post("/api/inquba/events/batch", json={"events": [
        {"eventDefinitionCode": "A", "identifier": "same-1"}, {"eventDefinitionCode": "A", "identifier": "same-1"}]})
    assert dup.status_code == 400 and dup.json()["errors"][0]["field"] == "events[1].identifier"
    assert upstream.requests(target="inquba-events") == []


def test_retryable_failures_end_dead_lettered_with_their_error(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    upstream.configure(error_rates={"503": 1.0}, error_targets=["inquba-api"], retry_after_seconds=None)
    tag = uuid.uuid4().hex
    response = app.client.post("/api/inquba/transactions/batch", json={"transactions": [
        {"transactionDefinitionCode": "T", "attributes": {"tag": tag}}]})
    assert response.status_code == 202
    identifier = response.json()["identifiers"][0]
    result = poll_batch(app, response.headers["location"])
    (item,) = result["items"]
    assert item["status"] == "dead-lettered" and item["attempts"] == 3
    assert item["upstreamStatus"] == 503 and "HTTP 503" in item["error"]
    poisoned = asyncio.run(poison_messages(azurite, "inquba-transactions"))
    mine = [m for m in poisoned if m.get("identifier") == identifier]
    assert mine and mine[0]["deadLetter"]["status"] == "dead-lettered"  # type: ignore[index]
    attempts = asyncio.run(log_entries_for(azurite, identifier))
    assert sorted(e["Attempt"] for e in attempts) == [1, 2, 3]
    assert all(e["StatusCode"] == 503 and "HTTP 503" in e["Error"] for e in attempts)

    upstream.configure(error_rates={})
    replay = app.client.post(f"/api/requests/{result['batchId']}/replay")
    assert replay.status_code == 202 and replay.json()["replayed"] == 1
    again = poll_batch(app, replay.headers["location"])
    assert again["items"][0]["status"] == "delivered"


def test_permanent_failures_are_final_at_once(app: RunningApp, upstream: SandboxControl) -> None:
    upstream.configure(error_rates={"400": 1.0}, error_targets=["inquba-api"])
    response = app.client.post("/api/inquba/events/batch", json={"events": events(2, "perm")})
    result = poll_batch(app, response.headers["location"])
    assert [i["status"] for i in result["items"]] == ["failed", "failed"]
    assert [i["attempts"] for i in result["items"]] == [1, 1]


def test_any_producer_can_write_to_the_queue_and_duplicates_are_not_resent(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    identifier = f"producer-{uuid.uuid4().hex[:8]}"
    message = {"kind": "event", "identifier": identifier,
               "payload": {"eventDefinitionCode": "FROM_QUEUE", "attributes": {"id": identifier}}}
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps(message)))

    def delivered() -> bool:
        status = app.client.get(f"/api/requests/{identifier}")
        return status.status_code == 200 and status.json()["status"] == "delivered"

    wait_until(delivered)
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps(message)))  # redelivered: acknowledged, not resent
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps(
        {"kind": "event", "identifier": marker, "payload": {"eventDefinitionCode": "MARK"}})))
    wait_until(lambda: app.client.get(f"/api/requests/{marker}").status_code == 200)
    sends = [r for r in upstream.requests(target="inquba-events")
             if any(a["value"] == identifier for a in (r["json"] or {}).get("attributes", []))]
    assert len(sends) == 1


def test_a_retry_copy_of_a_delivered_batch_item_is_not_resent(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    """A batch item's first try skips the status read (docs/decisions.md); a retry copy or redelivery reads it."""
    tag = uuid.uuid4().hex
    response = app.client.post("/api/inquba/events/batch", json={"events": events(1, tag)})
    assert poll_batch(app, response.headers["location"])["counts"]["delivered"] == 1
    batch_id, identifier = response.json()["batchId"], response.json()["identifiers"][0]
    copy = {"kind": "event", "identifier": identifier, "batchId": batch_id, "attempt": 2,
            "payload": events(1, tag)[0]}
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps(copy)))  # as a retry left behind by a crash
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps(
        {"kind": "event", "identifier": marker, "payload": {"eventDefinitionCode": "MARK"}})))
    wait_until(lambda: app.client.get(f"/api/requests/{marker}").status_code == 200)
    wait_until(lambda: asyncio.run(queue_length(azurite, "inquba-events")) == 0)  # the copy was handled too
    assert sent_numbers(upstream, tag) == [0]
    (item,) = app.client.get(f"/api/requests/{batch_id}").json()["items"]
    assert (item["status"], item["attempts"]) == ("delivered", 1)


def test_malformed_messages_are_dead_lettered_with_the_reason(app: RunningApp, azurite: Azurite) -> None:
    tag = uuid.uuid4().hex
    asyncio.run(send_raw(azurite, "inquba-events", json.dumps({"kind": "event", "tag": tag})))

    def poisoned() -> list[dict[str, object]]:
        return [m for m in asyncio.run(poison_messages(azurite, "inquba-events")) if tag in json.dumps(m)]

    (message,) = wait_until(poisoned)
    assert "identifier" in message["deadLetter"]["error"]  # type: ignore[index]
