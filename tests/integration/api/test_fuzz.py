"""Fuzz the running app from its own OpenAPI document (schemathesis, fixed seed, bounded examples).

The app runs in the local runner on Azurite against the sandbox, with storage names of its own so the
fuzz's batches, mappings and log entries stay out of the other tests' way. For every operation it sends
positive examples (valid by the document) and negative ones (invalid), then requires: no 5xx, every
error `application/problem+json` with the RFC 9457 members (and `errors: [{field, message}]` on 400),
and the documented status codes, content types, headers and response schemas (schemathesis' conformance
checks); positive examples must be accepted (no 400, 412, 413, 415...: the document is not laxer than
the code that parses) and negative ones rejected with a 4xx. Statistics are printed and written to
test-artifacts/fuzz-stats.json.

What JSON Schema cannot say is in the document's descriptions (an identifier once per batch, a source once per
mapping section, a continuation token from the previous page): `conform` applies those rules to positive
examples, as a caller reading the document would; the generator cannot know them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import RejectedPositiveData

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess
from shared.operations import dead_letters
from shared.operations.stats import MAX_SPAN as STATS_SPAN
from shared.outbound_log.query import ENTRY_ID, LogQuery, _Cursor, decode_token, encode_token, parse_query
from shared.web.parsing import parse_iso_time
from shared.web.problems import Problem
from tests.integration.conftest import (
    CANARY_CLIENT_SECRET,
    CANARY_PASSWORD,
    FUNCTION_KEY,
    TENANTS,
    RunningApp,
    run_app,
)

# Fixed by default; FUZZ_SEED / FUZZ_SCALE explore further (FUZZ_SCALE=4: four times the examples).
SEED = int(os.environ.get("FUZZ_SEED", "20260124"))
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: round(40 * SCALE), GenerationMode.NEGATIVE: round(25 * SCALE)}
KEY = {"x-functions-key": FUNCTION_KEY}
# Storage of its own: queues, tables and containers no other test reads.
FUZZ_STORAGE = {
    "INQUBA_EVENTS_QUEUE": "fuzz-inquba-events",
    "INQUBA_TRANSACTIONS_QUEUE": "fuzz-inquba-transactions",
    "INSIDER_SYNC_QUEUE": "fuzz-insider-sync",
    "OUTBOUND_LOG_RETRY_QUEUE": "fuzz-outbound-log-retry",
    "OUTBOUND_LOG_TABLE": "fuzzoutboundlog",
    "DELIVERY_TABLE": "fuzzdeliveries",
    "BATCH_TABLE": "fuzzbatchitems",
    "STATS_TABLE": "fuzzdeliverystats",
    "DEAD_LETTER_TABLE": "fuzzdeadletters",
    "TOKEN_CACHE_CONTAINER": "fuzz-token-cache",
    "INSIDER_MAPPING_CONTAINER": "fuzz-insider-mapping",
}
# Customers are validated by the mapping and answered per customer (`rejected`), never as a 400: a
# customer that breaks the documented Customer schema is a 200 by design, so negative examples of these
# two operations are checked for everything but "invalid data is rejected".
PER_CUSTOMER_VALIDATION = {"SyncInsiderCustomers", "PreviewInsiderUpsert"}
INDEX = re.compile(r"\[\d+\]")
CONFORMANCE = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance"]
# Valid data answered by the state, not refused: a generated If-Match names no stored mapping (412), as
# schemathesis takes 404 and 409 for data that names nothing stored.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
CONFIG = schemathesis.Config.from_dict({"operations": [{
    "include-operation-id": "UpdateInsiderMapping",
    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "412"]}}}]})
# The token route refuses a host outside INQUBA_ALLOWED_TOKEN_HOSTS, a setting of the deployment (the document
# says so, and cannot know it); an allowed host would reach inQuba with made-up credentials (a 502).
DEPLOYMENT_POLICY = re.compile(r"must match INQUBA_ALLOWED_TOKEN_HOSTS")
# A continuation token is opaque (format continuation-token): tokens this API issues for a search without
# filters, which `conform` signs again for the example's own filters.
UNFILTERED = LogQuery()
schemathesis.openapi.format("continuation-token", st.builds(
    lambda after, segment: encode_token(_Cursor(after, segment), UNFILTERED),
    st.none() | st.from_regex(ENTRY_ID, fullmatch=True), st.integers(0, 1)))


@pytest.fixture(scope="module")
def fuzz_app(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[RunningApp]:
    running = run_app(azurite, sandbox, **FUZZ_STORAGE)
    try:
        yield running
    finally:
        running.client.close()
        running.process.stop()


def problem_failures(operation: dict[str, Any], response: schemathesis.Response) -> list[str]:
    """An error must be problem+json with type, title and status (and field errors on a 400)."""
    status = str(response.status_code)
    documented = operation["responses"].get(status, {}).get("content", {})
    if response.status_code < 400 or (documented and "application/problem+json" not in documented):
        return []  # a success, or an error documented with another media type (health's 503 report)
    values = {k.lower(): v for k, v in response.headers.items()}.get("content-type") or [""]
    media_type = (values[0] if isinstance(values, list) else values).split(";")[0].strip()
    if media_type != "application/problem+json":
        return [f"{status} answered as {media_type or 'no content type'}, not application/problem+json"]
    body = response.json()
    failures = [f"{status} problem lacks {key}" for key in ("type", "title", "status") if key not in body]
    if body.get("status") != response.status_code:
        failures.append(f"{status} problem says status {body.get('status')}")
    if response.status_code == 400:
        errors = body.get("errors")
        if not errors or not all(isinstance(e, dict) and {"field", "message"} <= set(e) for e in errors):
            failures.append("400 problem without errors: [{field, message}]")
    return failures


def _unique_rows(rows: Any, names_once: bool = True) -> None:
    """A mapping section's rows: a repeated source gets a new name, a row repeating an Insider name is left out
    (an Insider event may take several source events: `names_once=False`)."""
    if not isinstance(rows, list):
        return
    sources: set[str] = set()
    names: set[tuple[bool, str]] = set()
    kept = []
    for row in rows:
        if isinstance(row, dict):
            while isinstance(row.get("source"), str) and row["source"] in sources:
                row["source"] += "~"
            sources.add(str(row.get("source")))
            name = (row.get("custom") is True, str(row.get("insider")))
            if names_once and name in names:
                continue
            names.add(name)
            _unique_rows(row.get("params"))  # an event's parameters
        kept.append(row)
    rows[:] = kept


def _unique_mapping(mapping: Any) -> None:
    if isinstance(mapping, dict):
        _unique_rows(mapping.get("identifiers"))
        _unique_rows(mapping.get("profile"))
        _unique_rows(mapping.get("events"), names_once=False)


def conform(case: schemathesis.Case, operation_id: str) -> None:
    """A positive example made to follow the document's rules that JSON Schema cannot say (its descriptions)."""
    body, query = case.body, case.query or {}
    if operation_id in ("PublishEventBatch", "PublishTransactionBatch") and isinstance(body, dict):
        identifiers: set[str] = set()  # unique in a batch: a repeated one is left out, so one is generated
        for item in body.get("events") or body.get("transactions") or []:
            if isinstance(item, dict) and item.get("identifier") in identifiers:
                del item["identifier"]
            elif isinstance(item, dict) and item.get("identifier") is not None:
                identifiers.add(item["identifier"])
    elif ((operation_id == "SyncInsiderCustomers" and query.get("mode") == "async")
          or operation_id in ("EraseInsiderCustomers", "DeleteInsiderAttributes")) and isinstance(body, dict):
        _unique_customers(body)  # ids unique (sync: with mode=async)
    elif operation_id == "ListDeadLetters":
        _dead_letter_filters(query)
    elif operation_id == "ReplayDeadLetters" and isinstance(body, dict):
        _in_order(body, "since", "until")
        if isinstance(body.get("queue"), str):
            body["queue"] = _work_queue(body["queue"])
    elif operation_id == "GetDeliveryStats":
        _within_span(query)
    elif operation_id == "UpdateInsiderMapping":
        _unique_mapping(body)
    elif operation_id == "PreviewInsiderUpsert" and isinstance(body, dict):
        _unique_mapping(body.get("mapping"))
    elif operation_id == "ListOutboundLogs":
        if later_than_to(query):  # from not later than to
            query["from"], query["to"] = query["to"], query["from"]
        if str(query.get("continuationToken") or "").strip():
            filters = {name: str(value) for name, value in query.items() if name != "continuationToken"}
            with contextlib.suppress(Problem, ValueError):  # another parameter refused: the fuzz reports that
                # the format's token (of an unfiltered search), issued again for these filters
                query["continuationToken"] = encode_token(decode_token(query["continuationToken"], UNFILTERED),
                                                          parse_query(filters))


WORK_QUEUES = tuple(FUZZ_STORAGE[setting] for setting in dead_letters.WORK_QUEUE_SETTINGS)


def _work_queue(name: str) -> str:
    """One of the app's work queues (the document says only those are taken; their names are settings)."""
    return name if name in WORK_QUEUES else WORK_QUEUES[len(name) % len(WORK_QUEUES)]


def _in_order(values: dict[str, Any], start: str, end: str) -> None:
    """`start` not later than `end` (the descriptions say so): swapped when both parse and are reversed."""
    with contextlib.suppress(ValueError, KeyError):  # absent or refused: the fuzz reports a refusal
        if parse_iso_time(values[start]) > parse_iso_time(values[end]):
            values[start], values[end] = values[end], values[start]


def _within_span(query: dict[str, Any]) -> None:
    """The statistics' range in order and at most the interval's span (its description): from moved up to it."""
    with contextlib.suppress(ValueError):
        end = parse_iso_time(query["to"]) if "to" in query else datetime.now(UTC)
        start = parse_iso_time(query["from"]) if "from" in query else end - timedelta(hours=24)
        start, end = min(start, end), max(start, end)
        span = STATS_SPAN.get(str(query.get("interval", "5m")))
        if span is not None and end - start > span:
            start = end - span
        query["from"], query["to"] = (moment.isoformat().replace("+00:00", "Z") for moment in (start, end))


def _unique_customers(body: dict[str, Any]) -> None:
    """A customer repeating an id is left out."""
    ids: set[str] = set()
    customers = []
    for customer in body["customers"]:
        if customer.get("id") not in ids:
            ids.add(customer.get("id"))
            customers.append(customer)
    body["customers"] = customers


def _dead_letter_filters(query: dict[str, Any]) -> None:
    """from not later than to, a queue of the app's, and the format's token issued again for these filters."""
    _in_order(query, "from", "to")
    if query.get("queue") is not None:
        query["queue"] = _work_queue(query["queue"])
    if str(query.get("continuationToken") or "").strip():
        with contextlib.suppress(ValueError, TypeError):  # another parameter refused: the fuzz reports that
            # the format's token (of an outbound-log search), issued again as this list's
            after = decode_token(query["continuationToken"], UNFILTERED).after or "0" * 13 + "-" + "0" * 10
            times = [parse_iso_time(query[name]) if name in query else None for name in ("from", "to")]
            queues = (query["queue"],) if query.get("queue") is not None else WORK_QUEUES
            filters = dead_letters.DeadLetterQuery(queues, *times, query.get("identifier"))
            query["continuationToken"] = dead_letters._encode_token(after, filters)


def later_than_to(query: dict[str, Any]) -> bool:
    try:
        parse_query({name: str(query[name]) for name in ("from", "to") if name in query})
    except Problem as problem:
        return [e.message for e in problem.errors] == ["must not be later than to"]
    return False


def refusal(response: schemathesis.Response) -> str:
    """` (400 events[*].attributes)`: the status and first field of a refusal, so that failures group by cause."""
    if not 400 <= response.status_code < 500:
        return ""
    try:
        first = str((response.json().get("errors") or [{}])[0].get("field", ""))
    except (ValueError, AttributeError, TypeError):
        first = ""
    return f" ({' '.join(filter(None, [str(response.status_code), INDEX.sub('[*]', first)]))})"


def deployment_policy(failure: Exception, response: schemathesis.Response) -> bool:
    """A positive example refused only by a setting of the deployment (DEPLOYMENT_POLICY)."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return False
    errors = response.json().get("errors") or [{}]
    return all(DEPLOYMENT_POLICY.search(str(e.get("message"))) for e in errors)


@dataclass
class Fuzzer:
    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    examples: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped: Counter[str] = field(default_factory=Counter)
    unrouted: Counter[str] = field(default_factory=Counter)
    deployment_refusals: Counter[str] = field(default_factory=Counter)

    def fuzz(self, operation: Any, raw: dict[str, Any], mode: GenerationMode, count: int) -> None:
        """`count` examples of one operation in one mode; failures are collected, not raised."""
        label = f"{operation.method.upper()} {operation.path}"
        names = CONFORMANCE + (["positive_data_acceptance"] if mode is GenerationMode.POSITIVE else
                               ["negative_data_rejection"] if raw["operationId"] not in PER_CUSTOMER_VALIDATION
                               else [])
        selected = [getattr(checks, name) for name in names]

        @hypothesis.seed(SEED)
        @hypothesis.settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            if mode is GenerationMode.POSITIVE:
                conform(case, raw["operationId"])
            try:
                response = case.call(base_url=self.base_url, session=self.session, headers=KEY, timeout=60)
            except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError):
                self.skipped[f"{label} ({mode.value}): not sendable over HTTP"] += 1
                return
            self.examples[f"{label} ({mode.value})"] += 1
            self.statuses[label][response.status_code] += 1
            if response.status_code == 404 and response.content in (b"", b"404: Not Found"):
                # No route matched, so the host answered: a generated path parameter with "/" in it, or (the
                # local runner's aiohttp) a control character such as a newline in the path.
                self.unrouted[label] += 1
                return
            found = problem_failures(raw, response)
            try:
                case.validate_response(response, checks=selected, headers=KEY,
                                       transport_kwargs={"base_url": self.base_url, "headers": KEY})
            except FailureGroup as group:
                for failure in group.exceptions:
                    if deployment_policy(failure, response):
                        self.deployment_refusals[label] += 1
                    else:
                        found.append(f"{failure.title}{refusal(response)}: {failure.message}"[:400])
            for failure in found:
                reproductions = self.failures[(label, failure.splitlines()[0][:200])]
                if len(reproductions) < 2:
                    reproductions.append(case.as_curl_command(headers=KEY, base_url=self.base_url)[:1500]
                                         + f"\n    -> {response.status_code} {response.text[:300]}")

        try:
            run()
        except (hypothesis.errors.Unsatisfiable, hypothesis.errors.FailedHealthCheck) as exc:
            self.skipped[f"{label} ({mode.value}): {type(exc).__name__}"] += 1


def test_fuzz_the_running_app(fuzz_app: RunningApp, upstream: SandboxControl, artifacts_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    upstream.configure(latency_ms=0, error_rates={}, timeout_rate=0, rate_limit_per_minute=None)  # answer at once
    document = fuzz_app.client.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    fuzzer = Fuzzer(f"{fuzz_app.process.base_url}/api")
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = document["paths"][operation.path][operation.method.lower()]
        for mode, count in EXAMPLES.items():
            fuzzer.fuzz(operation, raw, mode, count)

    elapsed = time.monotonic() - started
    failures = fuzzer.failures
    stats = {
        "seed": SEED,
        "operations": len(fuzzer.statuses),
        "examples": sum(fuzzer.examples.values()),
        "failures": sum(len(v) for v in failures.values()),
        "distinct_failures": len(failures),
        "seconds": round(elapsed, 1),
        "per_operation": {label: dict(sorted(c.items())) for label, c in sorted(fuzzer.statuses.items())},
        "examples_per_operation_and_mode": dict(sorted(fuzzer.examples.items())),
        "skipped": dict(fuzzer.skipped),
        "unrouted_404s": dict(fuzzer.unrouted),
        "refused_by_deployment_settings": dict(fuzzer.deployment_refusals),
        "failures_found": [{"operation": op, "failure": f, "reproduce": r} for (op, f), r in failures.items()],
    }
    (artifacts_dir / "fuzz-stats.json").write_text(json.dumps(stats, indent=2))
    with capsys.disabled():
        print(f"\nschemathesis fuzz (seed {SEED}): {stats['operations']} operations, {stats['examples']} examples, "
              f"{stats['distinct_failures']} distinct failures, {elapsed:.0f} s")
        for label, counter in stats["per_operation"].items():
            print(f"  {label:45} {sum(counter.values()):4} examples  statuses {counter}")
    tracebacks = re.findall(r"ERROR +shared\.web\.responses: unhandled error.*?\n(?=\S+ \S+ +INFO|\Z)",
                            fuzz_app.output, flags=re.S)
    assert not failures, "fuzzing found:\n" + "\n\n".join(
        f"{op}: {failure}\n  " + "\n  ".join(reproductions) for (op, failure), reproductions in failures.items()
    ) + "\n\nThe app's tracebacks:\n" + "\n".join(t[-3000:] for t in tracebacks[:5])


class Caller:
    """Explicit cases (schemathesis `operation.Case`) through the same checks as the fuzz: the answers a
    generator cannot reach on its own (a stored mapping's ETag, a finished batch, upstream failures)."""

    def __init__(self, app: RunningApp, document: dict[str, Any]) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.base_url = f"{app.process.base_url}/api"
        self.checked: Counter[str] = Counter()

    def __call__(self, method: str, path: str, expect: int | tuple[int, ...], **case: Any) -> schemathesis.Response:
        operation = self.schema[path][method]
        response = operation.Case(**case).call(base_url=self.base_url, headers=KEY, timeout=60)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.text[:500]}"
        raw = self.document["paths"][path][method.lower()]
        found = problem_failures(raw, response)
        try:
            names = [n for n in CONFORMANCE if max(expected) < 500 or n != "not_a_server_error"]  # 502-504 on purpose
            operation.Case(**case).validate_response(response, checks=[getattr(checks, n) for n in names],
                                                     headers=KEY)
        except FailureGroup as group:
            found += [f"{failure.title}: {failure.message}"[:400] for failure in group.exceptions]
        assert not found, f"{method} {path} -> {response.status_code}: {found}"
        self.checked[f"{method} {path} {response.status_code}"] += 1
        return response

    def poll(self, location: str, timeout: float = 60.0) -> schemathesis.Response:
        """Follow a 202's Location like the HTTP action does, checking every answer, until the 200."""
        request_id = location.split("?")[0].rsplit("/", 1)[-1]
        deadline = time.monotonic() + timeout
        while True:
            answer = self("GET", "/requests/{requestId}", (200, 202), path_parameters={"requestId": request_id})
            if answer.status_code == 200:
                return answer
            assert time.monotonic() < deadline, f"request {request_id} still running after {timeout} s"
            time.sleep(0.3)


def test_documented_answers_beyond_the_generator(fuzz_app: RunningApp, upstream: SandboxControl) -> None:
    """Success paths that need state, and every documented upstream failure, checked against the document."""
    call = Caller(fuzz_app, fuzz_app.client.get("/api/openapi.json").json())
    event = {"eventDefinitionCode": "WELCOME_SMS", "attributes": {"CustomerId": "c-1"}, "customerId": "c-1"}

    call("GET", "/health", 200)
    mapping = call("GET", "/insider/mapping", 200)
    stored = call("PUT", "/insider/mapping", 200, headers={"If-Match": mapping.headers["etag"][0]},
                  body=mapping.json(), media_type="application/json")
    call("PUT", "/insider/mapping", 412, headers={"If-Match": mapping.headers["etag"][0]}, body=stored.json(),
         media_type="application/json")

    identifier = f"fuzz-{time.time_ns()}"
    call("POST", "/inquba/events", 200, body={**event, "identifier": identifier}, media_type="application/json")
    duplicate = call("POST", "/inquba/events", 200, body={**event, "identifier": identifier},
                     media_type="application/json")
    assert duplicate.headers["x-duplicate"] == ["true"]
    call("POST", "/inquba/token", 200)
    connector = {"tenantName": "sandbox", "hostUrl": "sandbox.inqubacx.com", **{
        "username": TENANTS["sandbox"]["username"], "password": CANARY_PASSWORD,
        "clientId": TENANTS["sandbox"]["client_id"], "clientSecret": CANARY_CLIENT_SECRET}}
    call("POST", "/inquba/token", 200, body=connector, media_type="application/json")
    call("POST", "/inquba/token", 502, body={**connector, "password": "wrong"}, media_type="application/json")

    accepted = call("POST", "/inquba/events/batch", 202, body={"events": [event, event]},
                    media_type="application/json")
    done = call.poll(accepted.headers["location"][0])
    call("GET", "/requests/{requestId}", 200, path_parameters={"requestId": identifier})  # a delivery record
    call("POST", "/requests/{batchId}/replay", 202, path_parameters={"batchId": done.json()["batchId"]})

    customers = {"customers": [{"id": "fuzz-c1", "attributes": {"email": "ada@example.com", "first_name": "Ada"}}]}
    call("POST", "/insider/sync", 200, body=customers, media_type="application/json")
    queued = call("POST", "/insider/sync", 202, query={"mode": "async"}, body=customers,
                  media_type="application/json")
    call.poll(queued.headers["location"][0])
    call("POST", "/insider/mapping/preview", 200, body=customers, media_type="application/json")

    logs = call("GET", "/outbound-logs", 200, query={"customerId": "c-1", "limit": 5}).json()
    call("GET", "/outbound-logs/{id}", 200, path_parameters={"id": logs["items"][0]["id"]})
    call("GET", "/outbound-logs/{id}", 200, path_parameters={"id": logs["items"][0]["id"]},
         query={"customerId": "c-1"})

    upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
    call("POST", "/inquba/events", 502, body=event, media_type="application/json")
    failing = call("POST", "/inquba/transactions/batch", 202,
                   body={"transactions": [{"transactionDefinitionCode": "T"}]}, media_type="application/json")
    dead = call.poll(failing.headers["location"][0])
    assert dead.json()["items"][0]["status"] == "dead-lettered"
    upstream.configure(error_rates={"503": 1.0}, retry_after_seconds=30)
    call("POST", "/inquba/events", 503, body=event, media_type="application/json")
    upstream.configure(error_rates={}, timeout_rate=1.0, timeout_seconds=5)
    call("POST", "/inquba/transactions", 504, body={"transactionDefinitionCode": "T"}, media_type="application/json")
    upstream.configure(timeout_rate=0)
    call("POST", "/requests/{batchId}/replay", 202, path_parameters={"batchId": dead.json()["batchId"]})

    erase = {"customers": [{"id": "fuzz-c1"}], "action": "anonymize"}
    call("POST", "/insider/erase", 200, body=erase, media_type="application/json")
    call("POST", "/insider/profile", 200, body={"customer": {"id": "fuzz-c1"}}, media_type="application/json")
    many = {"customers": [{"id": f"fuzz-a{n}"} for n in range(101)], "whole": ["city"]}
    deleting = call("POST", "/insider/attributes/delete", 202, body=many, media_type="application/json")
    call.poll(deleting.headers["location"][0])
    profile = {"customer": {"id": "fuzz-c1"}}
    for rates, status in (({"500": 1.0}, 502), ({"429": 1.0}, 503)):
        upstream.configure(error_rates=rates, error_targets=["insider-profile"], retry_after_seconds=30)
        call("POST", "/insider/profile", status, body=profile, media_type="application/json")
    upstream.configure(error_rates={}, timeout_rate=1.0, timeout_seconds=5)
    call("POST", "/insider/profile", 504, body=profile, media_type="application/json")
    upstream.configure(timeout_rate=0)

    upstream.configure(insider_api_key="not-the-apps-key")  # Insider answers 403: sending pauses
    call("POST", "/insider/sync", 503, body=customers, media_type="application/json")
    call("POST", "/insider/erase", 503, body=erase, media_type="application/json")
    upstream.reset()
    assert call("POST", "/insider/resume", 200).json() == {"resumed": True}
    print(f"explicit cases checked: {dict(call.checked)}")
