"""The operations page in Debian's Chromium, on data made by real traffic through the sandbox.

Successes, 5xx answers, timeouts, dead letters and an Insider pause go through an app of the test's own; the app
is restarted so that its counts are in the rollups (a process merges them as it closes). The page then shows
them in Overview, replays the dead letters from Dead letters (one, then all since a time) and the test sees them
delivered; the Outbound logs view shows the calls. Screenshots of each view go to test-artifacts/.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess
from tests.integration.conftest import CANARY_INSIDER_KEY, FUNCTION_KEY, RunningApp, needs_chromium, poll_batch, run_app
from tests.integration.test_operations import ops_storage

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def make_traffic(app: RunningApp, upstream: SandboxControl, tag: str) -> tuple[str, list[str]]:
    """Successes, 5xx, timeouts, four dead letters and a 403 that pauses Insider; (batch id, its identifiers)."""
    publish = {"eventDefinitionCode": "OPS", "customerId": f"ops-{tag}"}
    for _ in range(12):
        assert app.client.post("/api/inquba/events", json=publish).status_code == 200
    upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
    for _ in range(3):
        assert app.client.post("/api/inquba/events", json=publish).status_code == 502
    identifiers = [f"{tag}-dl{n}" for n in range(4)]
    events = [{"eventDefinitionCode": "OPS", "identifier": i, "attributes": {"ref": i}} for i in identifiers]
    accepted = app.client.post("/api/inquba/events/batch", json={"events": events})
    assert poll_batch(app, accepted.headers["location"])["counts"]["dead-lettered"] == 4
    upstream.configure(error_rates={}, timeout_rate=1.0, timeout_seconds=3)  # the app gives up after 2 s
    for _ in range(2):
        assert app.client.post("/api/inquba/events", json=publish).status_code == 504
    upstream.configure(timeout_rate=0, insider_api_key="rotated-by-someone")
    customer = {"id": f"ins-{tag}", "attributes": {"email": "ada@example.com", "first_name": "Ada"}}
    assert app.client.post("/api/insider/sync", json={"customers": [customer]}).status_code == 503  # paused
    upstream.configure(insider_api_key=CANARY_INSIDER_KEY)
    return accepted.json()["batchId"], identifiers


def test_overview_dead_letters_and_logs_on_real_traffic(
    azurite: Azurite, sandbox: SandboxProcess, upstream: SandboxControl, browser: Any, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    storage = ops_storage(tag)
    started = datetime.now()
    first = run_app(azurite, sandbox, **storage)
    try:
        batch, identifiers = make_traffic(first, upstream, tag)
    finally:
        first.client.close()
        first.process.stop()  # its counts are merged into the rollups as it closes
    app = run_app(azurite, sandbox, **storage)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        requests: list[Any] = []
        page.on("request", lambda r: requests.append(r))
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        base = app.process.base_url
        page.goto(f"{base}/api/operations/page?code={FUNCTION_KEY}")
        expect(page).to_have_url(re.compile(r"/api/operations/page$"))  # the key left the address bar at once

        # Overview: the outcomes per target, p95, queues, the pause.
        inquba = page.locator('.chart[data-target="inquba"]')
        expect(inquba.locator("svg.bars rect.bar-2xx").first).to_be_attached()
        expect(inquba.locator("svg.bars rect.bar-5xx").first).to_be_attached()
        expect(inquba.locator("svg.bars rect.bar-none").first).to_be_attached()
        expect(inquba.locator("svg.latency circle.p95-dot").first).to_be_attached()
        events_row = page.locator('#ops tr[data-series="inquba/event"]')
        cells = events_row.locator("td")
        # 12 + 3 + 2 HTTP publishes, and 4 dead letters of 3 attempts each.
        expect(cells.nth(1)).to_have_text("29")
        expect(cells.nth(2)).to_have_text("12")
        expect(cells.nth(4)).to_have_text("15")
        expect(cells.nth(5)).to_have_text("2")
        expect(page.locator('#ops tr[data-series="insider/upsert"] td').nth(3)).to_have_text("1")  # the 403
        queue = storage["INQUBA_EVENTS_QUEUE"]
        expect(page.locator(f'#queues tr[data-queue="{queue}"] td').nth(2)).to_have_text("4")
        expect(page.locator("#insider-state .pill")).to_have_text("Paused")
        expect(page.locator("#token-state")).to_contain_text("Expires")
        page.screenshot(path=str(artifacts_dir / "operations-overview.png"), full_page=True)
        page.locator("#resume").click()
        expect(page.locator("#insider-state .pill")).to_have_text("Sending")
        expect(page.locator("#message .done")).to_contain_text("resumed")

        # Dead letters: replay one, then all since the test began.
        page.get_by_role("link", name="Dead letters").click()
        expect(page).to_have_url(re.compile(r"/api/operations/page#dead-letters$"))
        rows = page.locator("#dl-rows tr")
        expect(rows).to_have_count(4)
        expect(rows.first.locator("td").nth(3)).to_have_text("dead-lettered")
        expect(rows.first).to_contain_text("HTTP 500")
        page.screenshot(path=str(artifacts_dir / "operations-dead-letters.png"), full_page=True)
        one = rows.nth(2).get_attribute("data-identifier")
        rows.nth(2).get_by_role("button").click()
        expect(page.locator("#replay-result")).to_contain_text("Moved 1 dead letter back")
        expect(page.locator(f'#dl-rows tr[data-identifier="{one}"] .replayed')).to_be_visible()
        page.locator("#dl-queue").select_option(queue)
        page.locator("#replay-since").fill(started.strftime("%Y-%m-%dT%H:%M:%S"))
        page.get_by_role("button", name="Replay all since then").click()
        expect(page.locator("#replay-result")).to_contain_text(f"Moved 3 dead letters back: 3 to {queue}")
        expect(page.locator("#dl-rows .replayed")).to_have_count(4)
        page.screenshot(path=str(artifacts_dir / "operations-dead-letters-replayed.png"), full_page=True)
        delivered = poll_batch(app, f"/api/requests/{batch}")
        assert delivered["counts"]["delivered"] == 4
        refs = [r["json"]["attributes"][0]["value"] for r in upstream.requests(target="inquba-events")
                if r["status"] == 200 and r["json"].get("attributes")]
        assert sorted(r for r in refs if r.startswith(tag)) == sorted(identifiers)  # each delivered once
        page.get_by_role("button", name="Replay all since then").click()
        expect(page.locator("#replay-result")).to_contain_text("Nothing to move")

        # Outbound logs: the same tab, the key from this tab's storage.
        page.get_by_role("link", name="Outbound logs").click()
        expect(page).to_have_url(re.compile(r"/api/outbound-logs/page$"))
        page.locator("#q").fill(f"customer:ops-{tag}")
        page.get_by_role("button", name="Search", exact=True).click()
        log_rows = page.locator("tr.row")
        expect(log_rows).to_have_count(17)
        statuses = set(log_rows.locator(".c-status").all_inner_texts())
        assert {"200", "500", "none"} <= statuses
        page.screenshot(path=str(artifacts_dir / "operations-outbound-logs.png"), full_page=True)

        # The key never in a URL after the first one, nor in the page.
        later = [r for r in requests if r.url != f"{base}/api/operations/page?code={FUNCTION_KEY}"]
        assert later and all(FUNCTION_KEY not in r.url for r in later)
        fetches = [r for r in later if r.resource_type == "fetch"]
        assert fetches and all(r.headers.get("x-functions-key") == FUNCTION_KEY for r in fetches)
        assert FUNCTION_KEY not in page.content()
        assert dialogs == []
    finally:
        context.close()

    # A phone, and a first visit without ?code=: the page asks for the key once.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                device_scale_factor=2)
    try:
        mobile = phone.new_page()
        mobile.goto(f"{base}/api/operations/page")
        expect(mobile.locator("#key-panel")).to_be_visible()
        mobile.locator("#key-input").fill(FUNCTION_KEY)
        mobile.get_by_role("button", name="Use key").click()
        expect(mobile.locator('.chart[data-target="inquba"] svg.bars rect').first).to_be_attached()
        expect(mobile.locator('#ops tr[data-series="inquba/event"]')).to_be_visible()
        assert mobile.evaluate("document.scrollingElement.scrollWidth") <= 390
        mobile.screenshot(path=str(artifacts_dir / "operations-overview-phone.png"), full_page=True)
        mobile.get_by_role("link", name="Dead letters").click()
        expect(mobile.locator("#dl-rows tr")).to_have_count(4)
        assert mobile.evaluate("document.scrollingElement.scrollWidth") <= 390
        mobile.screenshot(path=str(artifacts_dir / "operations-dead-letters-phone.png"), full_page=True)
        assert FUNCTION_KEY not in mobile.url
    finally:
        phone.close()
        app.client.close()
        app.process.stop()
