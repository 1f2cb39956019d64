"""Operations on the real path: delivery statistics from two processes, dead letters and their replay, the
overview, and the Entra ID mode's access rules (docs/operations.md).

Each app here has storage names of its own, so its counts, queues and records are only this test's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from bench.counting_proxy import CountingProxy
from devstack.azurite import Azurite, connection_string
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess
from shared.operations.stats import latency_bucket
from tests.integration.conftest import FUNCTION_KEY, RunningApp, poll_batch, run_app, wait_until

GROUP = "6c1b1e5e-7f7a-4d0c-9d55-3f4a2b1c0d9e"


def ops_storage(tag: str) -> dict[str, str]:
    """Queues and tables of one test's own."""
    return {
        "INQUBA_EVENTS_QUEUE": f"ops{tag}-events", "INQUBA_TRANSACTIONS_QUEUE": f"ops{tag}-transactions",
        "INSIDER_SYNC_QUEUE": f"ops{tag}-insider", "OUTBOUND_LOG_RETRY_QUEUE": f"ops{tag}-log-retry",
        "OUTBOUND_LOG_TABLE": f"ops{tag}log", "DELIVERY_TABLE": f"ops{tag}deliveries",
        "BATCH_TABLE": f"ops{tag}batches", "STATS_TABLE": f"ops{tag}stats", "DEAD_LETTER_TABLE": f"ops{tag}dead",
        "TOKEN_CACHE_CONTAINER": f"ops{tag}-token-cache", "INSIDER_MAPPING_CONTAINER": f"ops{tag}-insider-mapping",
    }


@pytest.fixture(scope="module")
def ops_app(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[RunningApp]:
    running = run_app(azurite, sandbox, **ops_storage(uuid.uuid4().hex[:6]))
    try:
        yield running
    finally:
        running.client.close()
        running.process.stop()


def queue_name(app: RunningApp, setting: str) -> str:
    return next(q["name"] for q in app.client.get("/api/operations/overview").json()["queues"]
                if q["setting"] == setting)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Statistics ---------------------------------------------------------------------------------------------


def test_2000_calls_from_two_processes_are_counted_exactly_with_a_write_a_minute(
    azurite: Azurite, sandbox: SandboxProcess, upstream: SandboxControl
) -> None:
    storage = ops_storage(uuid.uuid4().hex[:6])
    proxy = CountingProxy(azurite.table_port).start()  # in front of Azurite's tables, for these two processes
    counted = connection_string(azurite.blob_port, azurite.queue_port, proxy.port)
    apps = [run_app(azurite, sandbox, AzureWebJobsStorage=counted, **storage) for _ in range(2)]

    async def publish_all() -> None:
        clients = [httpx.AsyncClient(base_url=a.process.base_url, headers={"x-functions-key": FUNCTION_KEY},
                                     timeout=60) for a in apps]
        gate = asyncio.Semaphore(24)

        async def one(n: int) -> None:
            async with gate:
                body = {"eventDefinitionCode": "STATS", "attributes": {"n": n}, "identifier": f"stats-{n}"}
                response = await clients[n % 2].post("/api/inquba/events", json=body)
                assert response.status_code == 200, response.text

        try:
            await asyncio.gather(*(one(n) for n in range(1000)))
            upstream.configure(latency_ms=25)  # a second mode of latencies, so that p95 has a shape to get right
            await asyncio.gather(*(one(n) for n in range(1000, 2000)))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    started = time.monotonic()
    try:
        asyncio.run(publish_all())
    finally:
        for running in apps:
            running.client.close()
            running.process.stop()  # each process merges what it has not yet written as it closes
        seconds = time.monotonic() - started
        proxy.stop()
    writes = proxy.writes(storage["STATS_TABLE"])

    reader = run_app(azurite, sandbox, **storage)
    try:
        body = reader.client.get("/api/stats", params={"interval": "1h"}).json()
    finally:
        reader.client.close()
        reader.process.stop()
    series = {(s["target"], s["operation"]): s["total"] for s in body["series"]}
    events = series[("inquba", "event")]
    assert events["count"] == 2000 and events["outcomes"]["2xx"] == 2000
    assert series[("inquba", "token")]["count"] <= 2  # one process fetched it, the other read the cache
    assert sum(events["histogram"]) == 2000
    print(f"2,000 calls from 2 processes in {seconds:.1f} s: {writes} stats table writes; p50 {events['p50Ms']} "
          f"ms, p95 {events['p95Ms']} ms")
    assert writes < 2 * seconds / 5, f"{writes} writes in {seconds:.1f} s"

    # The true p95 of the same calls, from their outbound log entries.
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        log = service.get_table_client(storage["OUTBOUND_LOG_TABLE"])
        times = sorted(e["ResponseTimeSeconds"] for e in log.query_entities(
            "PartitionKey ge 'L' and PartitionKey lt 'M' and Operation eq 'event'",
            select=["ResponseTimeSeconds"]))
    assert len(times) == 2000
    true_p95 = times[math.ceil(0.95 * len(times)) - 1]
    print(f"true p95 {true_p95 * 1000:.1f} ms")
    assert abs(latency_bucket(events["p95Ms"] / 1000) - latency_bucket(true_p95)) <= 1


def test_stats_parameters_are_checked(ops_app: RunningApp) -> None:
    response = ops_app.client.get("/api/stats", params={"interval": "1m", "from": "yesterday", "code": "ignored"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"interval", "from"}
    now = datetime.now(UTC)
    too_long = ops_app.client.get("/api/stats", params={"from": iso(now - timedelta(days=3)), "to": iso(now)})
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "from"
    reversed_ = ops_app.client.get("/api/stats", params={"from": iso(now), "to": iso(now - timedelta(hours=1))})
    assert reversed_.status_code == 400


# --- Dead letters -------------------------------------------------------------------------------------------


def dead_letter_batch(app: RunningApp, identifiers: list[str]) -> str:
    events = [{"eventDefinitionCode": "DL", "identifier": i, "attributes": {"ref": i}} for i in identifiers]
    accepted = app.client.post("/api/inquba/events/batch", json={"events": events})
    assert accepted.status_code == 202, accepted.text
    result = poll_batch(app, accepted.headers["location"])
    assert result["counts"]["dead-lettered"] == len(identifiers), result
    return accepted.json()["batchId"]


def delivered_refs(upstream: SandboxControl) -> list[str]:
    return [r["json"]["attributes"][0]["value"] for r in upstream.requests(target="inquba-events")
            if r["status"] == 200 and r["json"] and r["json"].get("eventDefinitionCode") == "DL"]


def test_replay_since_a_time_moves_exactly_the_window_and_once(
    ops_app: RunningApp, upstream: SandboxControl, storage_connection_string: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    events_queue = queue_name(ops_app, "INQUBA_EVENTS_QUEUE")
    upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
    before = [f"{tag}-a{n}" for n in range(3)]
    dead_letter_batch(ops_app, before)
    boundary = datetime.now(UTC)
    time.sleep(0.01)
    window = [f"{tag}-b{n}" for n in range(4)]
    batch = dead_letter_batch(ops_app, window)

    # Listed from the app's records, newest first, paged without gaps or repeats.
    seen, token = [], None
    while True:
        params = {"queue": events_queue, "limit": 3, **({"continuationToken": token} if token else {})}
        page = ops_app.client.get("/api/dead-letters", params=params).json()
        seen += page["items"]
        token = page["continuationToken"]
        if not token:
            break
    assert len({i["id"] for i in seen}) == len(seen) == 7
    assert {i["identifier"] for i in seen[:4]} == set(window) and {i["identifier"] for i in seen[4:]} == set(before)
    assert [i["deadLetteredAt"] for i in seen] == sorted((i["deadLetteredAt"] for i in seen), reverse=True)
    first = seen[0]
    assert (first["status"], first["upstreamStatus"], first["attempts"], first["kind"]) == (
        "dead-lettered", 500, 3, "event")
    assert "HTTP 500" in first["error"] and first["replayedAt"] is None
    overview = ops_app.client.get("/api/operations/overview").json()
    (events,) = [q for q in overview["queues"] if q["name"] == events_queue]
    assert events["poisonDepth"] == 7

    upstream.configure(error_rates={})
    replay = {"queue": events_queue, "since": iso(boundary)}
    moved = ops_app.client.post("/api/dead-letters/replay", json=replay)
    assert moved.status_code == 200, moved.text
    assert moved.json()["moved"] == 4
    assert sorted(i["identifier"] for i in moved.json()["items"]) == sorted(window)
    again = ops_app.client.post("/api/dead-letters/replay", json=replay).json()
    assert (again["moved"], again["items"]) == (0, [])

    result = poll_batch(ops_app, f"/api/requests/{batch}")
    assert result["counts"]["delivered"] == 4 and {i["attempts"] for i in result["items"]} == {1}
    assert sorted(r for r in delivered_refs(upstream) if r.startswith(tag)) == sorted(window)  # once each
    # A second copy of a replayed message (a replay the records could not stop) meets the duplicate guard.
    message = {"kind": "event", "identifier": window[0], "batchId": batch, "attempt": 1,
               "payload": {"eventDefinitionCode": "DL", "identifier": window[0], "attributes": {"ref": window[0]}}}
    QueueClient.from_connection_string(storage_connection_string, events_queue,
                                       message_encode_policy=TextBase64EncodePolicy()).send_message(
        json.dumps(message))
    wait_until(lambda: depth(ops_app, events_queue) == 0, timeout=30)
    time.sleep(1.0)
    assert sorted(r for r in delivered_refs(upstream) if r.startswith(tag)) == sorted(window)

    listed = ops_app.client.get("/api/dead-letters", params={"queue": events_queue}).json()["items"]
    replayed = {i["identifier"]: i["replayedAt"] for i in listed}
    assert all(replayed[i] for i in window) and not any(replayed[i] for i in before)
    wait_until(lambda: poison_depth(ops_app, events_queue) == 3, timeout=10)  # the poison copies went too


def _queue_state(app: RunningApp, name: str) -> dict[str, Any]:
    return next(q for q in app.client.get("/api/operations/overview").json()["queues"] if q["name"] == name)


def depth(app: RunningApp, name: str) -> int | None:
    return _queue_state(app, name)["depth"]


def poison_depth(app: RunningApp, name: str) -> int | None:
    return _queue_state(app, name)["poisonDepth"]


def test_insider_and_transaction_dead_letters_are_recorded_and_replayed(
    ops_app: RunningApp, upstream: SandboxControl
) -> None:
    tag = uuid.uuid4().hex[:6]
    insider_queue = queue_name(ops_app, "INSIDER_SYNC_QUEUE")
    transactions_queue = queue_name(ops_app, "INQUBA_TRANSACTIONS_QUEUE")
    since = datetime.now(UTC)
    upstream.configure(error_rates={"500": 1.0}, error_targets=["insider", "inquba-api"])
    customers = [{"id": f"{tag}-{n}", "attributes": {"email": f"c{n}@example.com", "first_name": "Ada"}}
                 for n in range(2)]
    accepted = ops_app.client.post("/api/insider/sync?mode=async", json={"customers": customers})
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["requestId"]
    result = poll_batch(ops_app, accepted.headers["location"], timeout=120)
    assert result["counts"]["dead-lettered"] == 2, result
    transaction = ops_app.client.post("/api/inquba/transactions/batch", json={"transactions": [
        {"transactionDefinitionCode": "DL", "identifier": f"{tag}-t"}]})
    assert poll_batch(ops_app, transaction.headers["location"])["counts"]["dead-lettered"] == 1

    everything = ops_app.client.get("/api/dead-letters", params={"from": iso(since)}).json()["items"]
    kinds = {(i["queue"], i["kind"], i["identifier"], i["customerCount"]) for i in everything}
    assert kinds == {(insider_queue, "insider", request_id, 2), (transactions_queue, "transaction", f"{tag}-t", None)}

    upstream.configure(error_rates={})
    moved = ops_app.client.post("/api/dead-letters/replay", json={
        "queue": insider_queue, "since": iso(since), "identifier": request_id}).json()
    assert moved["moved"] == 1
    synced = poll_batch(ops_app, f"/api/requests/{request_id}", timeout=120)
    assert synced["counts"]["synced"] == 2
    moved = ops_app.client.post("/api/dead-letters/replay", json={"queue": transactions_queue,
                                                                  "since": iso(since)}).json()
    assert moved["moved"] == 1
    unknown = ops_app.client.post("/api/dead-letters/replay", json={"queue": "no-such-queue", "since": iso(since)})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "queue"


def test_the_overview_tells_the_token_state_but_never_the_token(ops_app: RunningApp) -> None:
    assert ops_app.client.post("/api/inquba/events", json={"eventDefinitionCode": "WARM"}).status_code == 200
    token = ops_app.client.post("/api/inquba/token").json()["accessToken"]
    response = ops_app.client.get("/api/operations/overview")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert token not in response.text
    state = body["inqubaToken"]
    assert state["configured"] and state["cached"] and state["fresh"]
    assert state["expiresInSeconds"] > 0 and 0 <= state["ageSeconds"] < 3600
    assert body["insider"] == {"configured": True, "paused": False, "since": None, "error": None}
    assert [q["setting"] for q in body["queues"]] == ["INQUBA_EVENTS_QUEUE", "INQUBA_TRANSACTIONS_QUEUE",
                                                      "INSIDER_SYNC_QUEUE", "OUTBOUND_LOG_RETRY_QUEUE"]
    assert body["operationsAuth"] == "function-key"
    assert ops_app.client.get("/api/operations/overview", headers={"x-functions-key": "wrong"}).status_code == 401


# --- Entra ID mode ------------------------------------------------------------------------------------------


def principal(*groups: str) -> str:
    claims = [{"typ": "groups", "val": g} for g in groups] + [{"typ": "name", "val": "Ada"}]
    return base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()


def test_entra_mode_opens_the_operations_routes_to_the_allowed_group_only(
    azurite: Azurite, sandbox: SandboxProcess
) -> None:
    app = run_app(azurite, sandbox, OPERATIONS_AUTH="entra", OPERATIONS_ALLOWED_GROUP_ID=GROUP.upper(),
                  **ops_storage(uuid.uuid4().hex[:6]))
    bare = httpx.Client(base_url=app.process.base_url, timeout=30)
    try:
        member = {"x-ms-client-principal": principal("11111111-2222-3333-4444-555555555555", GROUP)}
        for path in ("/api/stats", "/api/operations/overview", "/api/dead-letters", "/api/outbound-logs"):
            assert bare.get(path, headers=member).status_code == 200, path
            refused = bare.get(path, headers={"x-functions-key": FUNCTION_KEY})  # a key does not open them here
            assert refused.status_code == 401 and refused.json()["signIn"] == "/.auth/login/aad", path
            other = bare.get(path, headers={"x-ms-client-principal": principal("11111111-2222-3333-4444-555555555555")})
            assert other.status_code == 403, path
            assert bare.get(path, headers={"x-ms-client-principal": "not base64 json"}).status_code == 401
        assert bare.post("/api/insider/resume", headers=member).json() == {"resumed": False}
        replay = bare.post("/api/dead-letters/replay", headers=member, json={
            "queue": queue_name_of(bare, member, "INQUBA_EVENTS_QUEUE"), "since": iso(datetime.now(UTC))})
        assert replay.status_code == 200 and replay.json()["moved"] == 0
        # The flows' routes keep their function key, and take no sign-in instead of it.
        assert bare.post("/api/inquba/events", headers=member, json={"eventDefinitionCode": "X"}).status_code == 401
        assert app.client.post("/api/inquba/events", json={"eventDefinitionCode": "X"}).status_code == 200
        page = bare.get("/api/operations/page")
        assert page.status_code == 200 and '<meta name="operations-auth" content="entra">' in page.text
    finally:
        bare.close()
        app.client.close()
        app.process.stop()


def queue_name_of(client: httpx.Client, headers: dict[str, str], setting: str) -> str:
    queues = client.get("/api/operations/overview", headers=headers).json()["queues"]
    return next(q["name"] for q in queues if q["setting"] == setting)


def test_function_key_mode_ignores_the_sign_in_header(ops_app: RunningApp) -> None:
    anonymous = httpx.get(f"{ops_app.process.base_url}/api/stats", headers={"x-ms-client-principal": principal(GROUP)})
    assert anonymous.status_code == 401  # the host wants its key: the header means nothing here
    page = httpx.get(f"{ops_app.process.base_url}/api/operations/page")
    assert '<meta name="operations-auth" content="function-key">' in page.text
