"""The outbound log page in a real headless Chromium (Debian's), against the running app."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from sandbox.client import SandboxControl
from shared.outbound_log.writer import CustomerSlice, OutboundLogEntry
from tests.integration.conftest import FUNCTION_KEY, RunningApp, needs_chromium
from tests.outbound_logs.helpers import entry, write_entries

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_search_expand_and_reset(
    app: RunningApp, upstream: SandboxControl, storage_connection_string: str, browser: object, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer, ok_id, failed_id = f"grace-{tag}", f"ok-{tag}", f"fail-{tag}"
    # A token another test expired costs one refused call and a retry: spend it on a customer not searched for.
    warm_up = {"eventDefinitionCode": "WELCOME_SMS", "customerId": f"warm-{tag}"}
    assert app.client.post("/api/inquba/events", json=warm_up).status_code == 200
    for identifier, status in ((ok_id, 200), (failed_id, 502)):
        if status == 502:
            upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
        response = app.client.post("/api/inquba/events", json={
            "eventDefinitionCode": "WELCOME_SMS", "attributes": {"Points": 5}, "customerId": customer,
            "customerName": "Grace Hopper", "identifier": identifier,
        })
        assert response.status_code == status, response.text
    upstream.configure(error_rates={})
    bob = f"bob-{tag}"
    write_entries(storage_connection_string, [
        entry(status_code=None, error=f"network error: connection reset zeta-{tag}", customer_id=f"lin-{tag}",
              customer_name="Lin", identifier=f"net-{tag}", response_body=""),
        OutboundLogEntry(
            target="insider", operation="upsert", method="POST", url="https://sandbox/api/user/v1/upsert",
            status_code=200, response_time_seconds=0.31, error=None, identifier=f"sync-{tag}",
            request_body='{"users":[{"identifiers":{"uuid":"a"}},{"identifiers":{"uuid":"b"}}]}',
            response_body='{"data":{"successful":{"count":1}}}',
            customers=[CustomerSlice(f"ann-{tag}", "Ann", '{"identifiers":{"uuid":"a"}}', '"synced"', None),
                       CustomerSlice(bob, "Bob <script>alert(1)</script>", '{"identifiers":{"uuid":"b"}}',
                                     '{"reason":"invalid email"}', "invalid email")],
        ),
    ])

    context = browser.new_context(viewport={"width": 1366, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if r.resource_type == "fetch" else None)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{app.process.base_url}/api/outbound-logs/page?code={FUNCTION_KEY}")
    expect(page).to_have_url(re.compile(r"/api/outbound-logs/page$"))  # the key left the address bar
    rows = page.locator("tr.row")
    expect(rows.first).to_be_visible()
    search = page.locator("#q")

    def run(text: str, *, enter: bool = False) -> None:
        search.fill(text)
        if enter:
            search.press("Enter")
        else:
            page.get_by_role("button", name="Search", exact=True).click()

    # Customer ID: both publishes, newest first, with the customer's name.
    run(f"customer:{customer}")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".c-ident")).to_have_text(failed_id)
    expect(rows.nth(1).locator(".c-ident")).to_have_text(ok_id)
    expect(rows.nth(0).locator(".c-customer")).to_contain_text("Grace Hopper")
    expect(rows.nth(0).locator(".c-customer")).to_contain_text(customer)
    expect(rows.nth(0).locator(".c-status")).to_have_text("500")
    # Expand: the pretty-printed request and response bodies, from the detail route.
    rows.nth(1).click()
    detail = page.locator("tr.detail")
    expect(detail.locator("pre.request-body")).to_contain_text('"eventDefinitionCode": "WELCOME_SMS"')
    expect(detail.locator("pre.response-body")).not_to_have_text("")
    response_text = detail.locator("pre.response-body").inner_text()
    assert response_text.strip() and "Loading" not in response_text
    rows.nth(0).click()
    expect(detail).to_have_count(2)
    expect(detail.nth(0).locator("pre.response-body")).to_contain_text("error")
    page.screenshot(path=str(artifacts_dir / "outbound-logs-page.png"), full_page=True)
    rows.nth(0).click()
    expect(detail).to_have_count(1)

    # Identifier (Enter searches too).
    run(f"id:{ok_id}", enter=True)
    expect(rows.first.locator(".c-ident")).to_have_text(ok_id)
    for i in range(rows.count()):
        expect(rows.nth(i).locator(".c-ident")).to_have_text(ok_id)
    # Plain words: an error substring, case-insensitive.
    run(f"Connection RESET zeta-{tag}")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".c-status")).to_have_text("none")
    expect(rows.first.locator(".c-error")).to_contain_text(f"connection reset zeta-{tag}")
    # Status code alone: every row shown is a 500.
    run("status:500")
    expect(rows.first.locator(".c-status")).to_have_text("500")
    assert set(rows.locator(".c-status").all_inner_texts()) == {"500"}
    # A combination.
    run(f"customer:{customer} status:5xx error:http")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".c-ident")).to_have_text(failed_id)
    # A batched Insider request through one of its customers: that customer's own slice and result.
    run(f"customer:{bob}")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".c-customer")).to_contain_text("Bob <script>alert(1)</script>")  # shown, not run
    expect(rows.first.locator(".c-error")).to_have_text("invalid email")
    rows.first.click()
    expect(detail.locator("pre.response-body")).to_have_text('{\n  "reason": "invalid email"\n}')
    expect(detail.locator("pre.request-body")).to_contain_text('"uuid": "b"')
    expect(detail.locator(".scope").first).to_be_visible()
    assert any(f"/api/outbound-logs/{rows.first.get_attribute('data-id')}?customerId={bob}" in url for url in api_calls)
    # Empty and error states.
    run(f"customer:nobody-{tag}")
    expect(page.locator("#empty")).to_be_visible()
    expect(rows).to_have_count(0)
    run("status:abc")
    expect(page.locator("#message .alert")).to_contain_text("status:")
    page.screenshot(path=str(artifacts_dir / "outbound-logs-page-error.png"))
    # Reset with the X: the search is cleared and the newest entries are back.
    page.get_by_role("button", name="Reset the search").click()
    expect(search).to_have_value("")
    expect(page.locator("#message")).to_be_empty()
    expect(rows.first).to_be_visible()
    assert rows.count() > 2
    page.screenshot(path=str(artifacts_dir / "outbound-logs-page-all.png"))
    assert dialogs == []
    assert api_calls and all(FUNCTION_KEY not in url for url in api_calls)  # a header, never in a URL

    # A phone: rows become cards.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,  # type: ignore[attr-defined]
                                has_touch=True, device_scale_factor=2)
    mobile = phone.new_page()
    mobile.goto(f"{app.process.base_url}/api/outbound-logs/page?code={FUNCTION_KEY}&q=customer:{customer}")
    cards = mobile.locator("tr.row")
    expect(cards).to_have_count(2)
    expect(mobile.locator("table.log thead")).to_be_hidden()
    box = cards.first.bounding_box()
    assert box is not None and box["width"] <= 390
    cards.first.click()
    expect(mobile.locator("tr.detail pre.response-body")).to_be_visible()
    mobile.screenshot(path=str(artifacts_dir / "outbound-logs-page-phone.png"), full_page=True)
    phone.close()
    context.close()


def test_show_insider_profile_on_an_insider_entry(
    app: RunningApp, upstream: SandboxControl, browser: object, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer = {"id": f"ada-{tag}", "name": "Ada", "attributes": {"email": f"ada.{tag}@example.com",
                                                                  "first_name": "Ada", "tier": "Gold"}}
    assert app.client.post("/api/insider/sync", json={"customers": [customer]}).status_code == 200
    context = browser.new_context(viewport={"width": 1366, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{app.process.base_url}/api/outbound-logs/page?code={FUNCTION_KEY}&q=customer:{customer['id']}")
    rows = page.locator("tr.row")
    expect(rows).to_have_count(1)
    rows.first.click()
    button = page.get_by_role("button", name="Show Insider profile")
    button.click()
    profile = page.locator("tr.detail .insider-profile pre")
    expect(profile).to_contain_text(f'"email": "ada.{tag}@example.com"')
    expect(profile).to_contain_text('"name": "Ada"')
    assert [r["json"]["identifiers"] for r in upstream.requests(target="insider-profile")] == [{"uuid": customer["id"]}]
    page.screenshot(path=str(artifacts_dir / "outbound-logs-page-insider-profile.png"))
    # The profile request is logged for the customer too. An inQuba entry has no such button.
    assert app.client.post("/api/inquba/events", json={"eventDefinitionCode": "A", "customerId": customer["id"]}
                           ).status_code == 200
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("inQuba")
    rows.first.click()
    expect(page.locator("tr.detail").first.locator(".profile-button")).to_have_count(0)
    context.close()
