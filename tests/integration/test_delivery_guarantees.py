"""Nothing lost: 2,000 queued items through a flaky upstream while the app, then the storage, goes down.

The sandbox fails 30 % of inQuba calls (500, 503, 429 with Retry-After, timeouts). Midway the app
process is killed with SIGKILL and a new one started; in the second run Azurite is stopped and
restarted instead. At the end every accepted identifier must be delivered or dead-lettered with its
error logged, and the app's status must agree with what the sandbox itself saw.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from azure.data.tables.aio import TableServiceClient

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess
from shared.outbound_log.writer import identifier_partition
from tests.integration.conftest import RunningApp, poll_batch, run_app, wait_until

ITEMS = 2_000
BATCH = 500
CHAOS = {
    "error_rates": {"500": 0.10, "503": 0.06, "429": 0.06},
    "timeout_rate": 0.08,
    "timeout_seconds": 3,
    "retry_after_seconds": 1,
    "error_targets": ["inquba-api"],
    "random_seed": 20261124,
}
APP_SETTINGS = {
    "LOCAL_RUNNER_MESSAGE_LEASE_SECONDS": "10",  # a killed worker's messages reappear after 10 s, not 10 min
    "UPSTREAM_TIMEOUT_SECONDS": "1",
    "DELIVERY_MAX_ATTEMPTS": "6",
    "RETRY_BASE_DELAY_SECONDS": "0",
}


def successes(upstream: SandboxControl, tag: str) -> dict[str, list[float]]:
    """identifier -> times the sandbox answered 200 to it."""
    seen: dict[str, list[float]] = {}
    for request in upstream.requests(target="inquba-events"):
        attributes = {a["code"]: a["value"] for a in (request["json"] or {}).get("attributes", [])}
        if attributes.get("tag") == tag and request["status"] == 200:
            seen.setdefault(attributes["id"], []).append(request["time"])
    return seen


def submit(app: RunningApp, tag: str) -> tuple[list[str], list[str]]:
    """Batches of 500 with our own identifiers; returns (status paths, accepted identifiers)."""
    locations, accepted = [], []
    for start in range(0, ITEMS, BATCH):
        items = [{"eventDefinitionCode": "CHAOS", "identifier": f"{tag}-{n}",
                  "attributes": {"tag": tag, "id": f"{tag}-{n}"}} for n in range(start, start + BATCH)]
        response = app.client.post("/api/inquba/events/batch", json={"events": items})
        assert response.status_code == 202, response.text
        # The path only: Location names the app that answered, and the kill test restarts it on another port.
        locations.append(httpx.URL(response.headers["location"]).raw_path.decode())
        accepted += response.json()["identifiers"]
    return locations, accepted


async def logged_errors(azurite: Azurite, identifiers: list[str]) -> dict[str, list[str]]:
    async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.get_table_client("outboundlog")
        result: dict[str, list[str]] = {}
        for identifier in identifiers:
            query = table.query_entities("PartitionKey eq @pk", parameters={"pk": identifier_partition(identifier)})
            result[identifier] = [e.get("Error", "") async for e in query]
        return result


def check_outcome(app: RunningApp, upstream: SandboxControl, azurite: Azurite, locations: list[str],
                  accepted: list[str], tag: str, disruption: tuple[float, float]) -> dict[str, Any]:
    items = [item for location in locations for item in poll_batch(app, location, timeout=420)["items"]]
    statuses = {item["identifier"]: item for item in items}
    assert sorted(statuses) == sorted(accepted), "an accepted identifier is missing from the status"
    counts = Counter(item["status"] for item in items)
    assert set(counts) <= {"delivered", "dead-lettered"}, counts

    seen = successes(upstream, tag)
    delivered = {i for i, item in statuses.items() if item["status"] == "delivered"}
    assert delivered == set(seen), "the app's status disagrees with what the sandbox accepted"
    dead = [i for i, item in statuses.items() if item["status"] == "dead-lettered"]
    for identifier, errors in asyncio.run(logged_errors(azurite, dead)).items():
        assert statuses[identifier]["error"] and any(errors), f"{identifier} dead-lettered without a logged error"

    duplicates = {i: times for i, times in seen.items() if len(times) > 1}
    start, end = disruption
    # A duplicate can only come from an item in flight when the disruption began.
    outside = [i for i, times in duplicates.items() if not (min(times) <= end and max(times) >= start)]
    report = {"delivered": len(delivered), "dead-lettered": len(dead), "duplicates": len(duplicates),
              "duplicates outside the disruption": len(outside)}
    print(f"\n[{tag}] {report}")
    assert outside == []
    return report


@pytest.fixture
def chaos(upstream: SandboxControl) -> SandboxControl:
    upstream.configure(**CHAOS)
    return upstream


def test_app_killed_mid_run_loses_nothing(
    azurite: Azurite, sandbox: SandboxProcess, chaos: SandboxControl
) -> None:
    tag = f"kill-{uuid.uuid4().hex[:6]}"
    settings = {**APP_SETTINGS, "INQUBA_EVENTS_QUEUE": f"chaos-{tag}"}  # no other app may consume it
    app = run_app(azurite, sandbox, **settings)
    try:
        locations, accepted = submit(app, tag)
        wait_until(lambda: len(successes(chaos, tag)) >= ITEMS // 4, timeout=300)
        killed_at = time.time()
        app.process.kill()
    finally:
        app.client.close()
    # On the same port: in Azure a restarted app keeps its host name, so the Locations handed out still lead to it.
    app = run_app(azurite, sandbox, port=app.client.base_url.port, **settings)
    try:
        restarted_at = time.time()
        report = check_outcome(app, chaos, azurite, locations, accepted, tag, (killed_at, restarted_at + 15))
        assert report["delivered"] + report["dead-lettered"] == ITEMS
    finally:
        app.client.close()
        app.process.stop()


def test_storage_outage_mid_run_loses_nothing(
    azurite: Azurite, sandbox: SandboxProcess, chaos: SandboxControl
) -> None:
    tag = f"storage-{uuid.uuid4().hex[:6]}"
    app = run_app(azurite, sandbox, **APP_SETTINGS, INQUBA_EVENTS_QUEUE=f"chaos-{tag}")
    try:
        locations, accepted = submit(app, tag)
        wait_until(lambda: len(successes(chaos, tag)) >= ITEMS // 4, timeout=300)
        stopped_at = time.time()
        azurite.stop()
        time.sleep(5)  # the outage itself: a span of time, not a condition to wait for
        azurite.start()
        restarted_at = time.time()
        # Storage calls caught by the outage finish late (SDK retries back off for up to a minute), and a
        # message whose 10 s lock lapsed meanwhile is redelivered: that is the disruption's own window.
        report = check_outcome(app, chaos, azurite, locations, accepted, tag, (stopped_at, restarted_at + 60))
        assert report["delivered"] + report["dead-lettered"] == ITEMS
    finally:
        app.client.close()
        app.process.stop()
