"""The benchmark scenarios. Each returns rows for the results table; sizes shrink with `small`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient
from httpx_aiohttp import AiohttpTransport

from bench.counting_proxy import StorageProxies
from devstack.app_process import AppProcess, app_environment, start_app
from devstack.azurite import Azurite
from devstack.ports import free_port
from devstack.sandbox_settings import sandbox_settings
from sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-function-key"
MASTER_KEY = "local-dev-master-key"  # the local runner's default; its stats endpoint takes only this key
CALLERS = 32
LATENCY_MS = 20
TENANT = {"username": "bench-user", "password": "bench-password", "client_id": "bench-client",
          "client_secret": "bench-secret"}


@dataclass
class Row:
    figure: str
    app: str
    usual: str
    ratio: str
    goal: str
    how: str


@dataclass
class Bench:
    azurite: Azurite
    sandbox: SandboxProcess
    small: bool
    profile_dir: Path | None = None
    rows: list[Row] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def size(self, full: int, small: int) -> int:
        return small if self.small else full

    @contextmanager
    def profiled(self, app: AppProcess, name: str) -> Iterator[None]:
        """With `--profile DIR`: a py-spy flame graph of the app process while the block runs, as DIR/name.svg."""
        if self.profile_dir is None:
            yield
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                                str(app.process.pid), "--rate", "200", "-o", str(self.profile_dir / f"{name}.svg")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)

    def app(self, tenant: str = "bench", storage: str | None = None, **settings: str) -> AppProcess:
        overrides = {
            **sandbox_settings(self.sandbox.url),
            "AzureWebJobsStorage": storage or self.azurite.connection_string,
            "INQUBA_TENANT": tenant, "INQUBA_USERNAME": TENANT["username"], "INQUBA_PASSWORD": TENANT["password"],
            "INQUBA_CLIENT_ID": TENANT["client_id"], "INQUBA_CLIENT_SECRET": TENANT["client_secret"],
            "LOCAL_FUNCTION_KEY": KEY, "LOCAL_RUNNER_STATS": "1", **settings,
        }
        env = app_environment({})
        env.update(overrides)
        return start_app(env, free_port())


def callers_client(**kwargs: Any) -> httpx.AsyncClient:
    """The callers' HTTP client, on aiohttp's pool like the app's: with httpcore's pool the callers themselves
    took 5 ms of CPU per request and were the bottleneck of the direct runs (bench/results.md)."""
    limits = httpx.Limits(max_connections=CALLERS)
    return httpx.AsyncClient(timeout=60, limits=limits, transport=AiohttpTransport(limits=limits), **kwargs)


def cpu_seconds(process: AppProcess) -> float:
    """User + system CPU time of the app process so far."""
    fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    """CPU seconds of the app process so far: the app's own (function bodies and their tasks) and the whole."""

    app: float | None  # None when the host is not the local runner (no stats endpoint)
    process: float

    def per(self, later: CpuSample, operations: int) -> tuple[float | None, float]:
        """(app, process) milliseconds per operation between this sample and `later`."""
        app = None if self.app is None or later.app is None else (later.app - self.app) / operations * 1000
        return app, (later.process - self.process) / operations * 1000


def cpu_sample(process: AppProcess) -> CpuSample:
    """The local runner's LOCAL_RUNNER_STATS counters (local_runner/cpu_time.py) and the process's CPU time."""
    total = cpu_seconds(process)
    try:
        response = httpx.get(f"{process.base_url}/_local_runner/stats", headers={"x-functions-key": MASTER_KEY},
                             timeout=10)
        response.raise_for_status()
        return CpuSample(float(response.json()["appCpuSeconds"]), total)
    except (httpx.HTTPError, KeyError, ValueError):
        return CpuSample(None, total)


def describe_cpu(app_ms: float | None, process_ms: float) -> str:
    if app_ms is None:
        return f"{process_ms:.1f} ms CPU each, host included"
    return f"{app_ms:.1f} ms app CPU each, {process_ms:.1f} ms with the local runner's"


def peak_rss_mb(process: AppProcess) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_callers(count: int, call: Callable[[int], Any], callers: int = CALLERS) -> float:
    """`count` calls from `callers` concurrent callers; returns wall seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def caller() -> None:
        while not queue.empty():
            await call(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return time.perf_counter() - started


def event(n: int, tag: str) -> dict[str, Any]:
    return {"eventDefinitionCode": "BENCH", "attributes": {"tag": tag, "n": n}}


# 1 ------------------------------------------------------------------------------------------------
def token_economy(b: Bench) -> None:
    n = b.size(1000, 64)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    b.sandbox.control.configure(tenants={tenant: TENANT}, latency_ms=0)
    apps = [b.app(tenant), b.app(tenant)]
    b.sandbox.control.clear_requests()
    try:
        async def run() -> None:
            clients = [callers_client(base_url=a.base_url, headers={"x-functions-key": KEY})
                       for a in apps]

            async def publish(i: int) -> None:
                response = await clients[i % 2].post("/api/inquba/events", json=event(i, "token"))
                response.raise_for_status()

            await run_callers(n, publish)
            await asyncio.gather(*(c.aclose() for c in clients))

        asyncio.run(run())
        token_path = f"/{tenant}/connect/token"
        ours = len([r for r in b.sandbox.control.requests(target="inquba-token") if r["path"] == token_path])
        b.sandbox.control.clear_requests()

        async def connector() -> None:  # a flow: "Acquire Access Token" then "Create Event", every run
            async with callers_client() as http:
                async def one(i: int) -> None:
                    token = await http.post(f"{b.sandbox.url}/{tenant}/connect/token", data={
                        "username": TENANT["username"], "password": TENANT["password"], "grant_type": "password",
                        "client_id": TENANT["client_id"], "scope": "openid cx_api",
                        "client_secret": TENANT["client_secret"]})
                    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                    await http.post(f"{b.sandbox.url}/tenants/{tenant}/cems/api/Events", json=event(i, "c"),
                                    headers=headers)

                await run_callers(n, one)

        asyncio.run(connector())
        usual = len(b.sandbox.control.requests(target="inquba-token"))
    finally:
        for a in apps:
            a.stop()
    b.rows.append(Row("1. Token requests per publishes", f"{ours} per {n:,}", f"{usual:,} per {n:,}",
                      f"1 : {usual // max(ours, 1):,}", "1 against 1,000",
                      f"{n:,} POST /api/inquba/events from {CALLERS} callers across 2 app processes; token "
                      "requests counted by the sandbox. Usual: the connector pattern (token, then event) per publish"))


# 2 ------------------------------------------------------------------------------------------------
def gateway_throughput(b: Bench) -> None:
    n, n_alone = b.size(2000, 100), b.size(300, 20)
    b.sandbox.control.configure(tenants={"bench": TENANT}, latency_ms=LATENCY_MS)
    app = b.app()
    try:
        async def through_app(count: int, callers: int) -> float:
            async with callers_client(base_url=app.base_url, headers={"x-functions-key": KEY}) as http:
                (await http.post("/api/inquba/events", json=event(-1, "warm"))).raise_for_status()

                async def publish(i: int) -> None:
                    (await http.post("/api/inquba/events", json=event(i, "gw"))).raise_for_status()

                return await run_callers(count, publish, callers)

        async def direct(count: int, callers: int) -> float:
            async with callers_client() as http:
                token = (await http.post(f"{b.sandbox.url}/bench/connect/token", data={
                    "username": TENANT["username"], "password": TENANT["password"], "grant_type": "password",
                    "client_id": TENANT["client_id"], "scope": "openid cx_api",
                    "client_secret": TENANT["client_secret"]})).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                body = {"eventDefinitionCode": "BENCH", "isTest": False, "attributes": [{"code": "n", "value": "1"}]}

                async def publish(i: int) -> None:
                    (await http.post(f"{b.sandbox.url}/tenants/bench/cems/api/Events", json=body,
                                     headers=headers)).raise_for_status()

                return await run_callers(count, publish, callers)

        cpu_before = cpu_sample(app)
        with b.profiled(app, "gateway"):
            app_rate = n / asyncio.run(through_app(n, CALLERS))
        app_cpu_ms, process_cpu_ms = cpu_before.per(cpu_sample(app), n)
        direct_rate = n / asyncio.run(direct(n, CALLERS))
        alone_app_rate = n_alone / asyncio.run(through_app(n_alone, 1))
        alone_direct_rate = n_alone / asyncio.run(direct(n_alone, 1))
        b.peak_rss_mb["run 2 (HTTP gateway)"] = peak_rss_mb(app)
    finally:
        app.stop()
    b.rows.append(Row("2. Gateway throughput", f"{app_rate:,.0f} events/s ({describe_cpu(app_cpu_ms, process_cpu_ms)})",
                      f"{direct_rate:,.0f} events/s direct", f"{app_rate / direct_rate:.2f}", "at least 0.9",
                      f"{n:,} events from {CALLERS} callers, sandbox adding {LATENCY_MS} ms; through "
                      "POST /api/inquba/events (token cached, outbound log written) vs straight to the sandbox; "
                      "CPU per event as in 2c"))
    b.rows.append(cpu_row("2c. App CPU per HTTP publish", app_cpu_ms, process_cpu_ms, 2.0,
                          "the function bodies and the tasks they start, timed step by step inside the app process "
                          "(LOCAL_RUNNER_STATS, local_runner/cpu_time.py) during run 2, against the whole "
                          "process's CPU time, which adds the local runner's HTTP serving (the Functions host's "
                          "work in Azure)"))
    b.rows.append(Row("2b. Gateway, one caller", f"{alone_app_rate:,.1f} events/s",
                      f"{alone_direct_rate:,.1f} events/s direct",
                      f"{alone_app_rate / alone_direct_rate:.2f}", "–",
                      f"{n_alone:,} events from 1 caller, as above: the latency the gateway adds when the machine's "
                      "cores are not the limit"))


def cpu_row(figure: str, app_ms: float | None, process_ms: float, goal_ms: float, how: str) -> Row:
    if app_ms is None:
        return Row(figure, "not measured (the host is not the local runner)", f"{process_ms:.1f} ms whole process",
                   "–", f"at most {goal_ms:g} ms", how)
    return Row(figure, f"{app_ms:.2f} ms", f"{process_ms:.2f} ms whole process", f"{app_ms / process_ms:.2f}",
               f"at most {goal_ms:g} ms", how)


# 3 ------------------------------------------------------------------------------------------------
async def fill_queue(azurite: Azurite, name: str, messages: list[str]) -> None:
    async with QueueClient.from_connection_string(
        azurite.connection_string, name, message_encode_policy=TextBase64EncodePolicy()
    ) as queue:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        gate = asyncio.Semaphore(32)

        async def send(text: str) -> None:
            async with gate:
                await queue.send_message(text)

        await asyncio.gather(*(send(m) for m in messages))


async def approximate_messages(azurite: Azurite, name: str) -> int:
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        return (await queue.get_queue_properties()).approximate_message_count


def wait_for_empty_queue(azurite: Azurite, name: str, started: float | None = None, timeout: float = 300) -> float:
    """Seconds from `started` (perf_counter, default now) until the queue holds no message (Azurite, not counted)."""
    started = time.perf_counter() if started is None else started
    deadline = time.monotonic() + timeout
    while asyncio.run(approximate_messages(azurite, name)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return time.perf_counter() - started


def host_concurrency() -> int:
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    return int(queues["batchSize"]) + int(queues["newBatchThreshold"])


def queue_path(b: Bench) -> None:
    n = b.size(2000, 100)
    tag = uuid.uuid4().hex[:8]
    name = f"bench-events-{tag}"
    b.sandbox.control.configure(tenants={"bench": TENANT}, latency_ms=LATENCY_MS)
    messages = [json.dumps({"kind": "event", "identifier": f"{tag}-{i}", "payload": event(i, tag)}) for i in range(n)]
    asyncio.run(fill_queue(b.azurite, name, messages))
    b.sandbox.control.clear_requests()
    app = b.app(INQUBA_EVENTS_QUEUE=name)
    try:
        deadline = time.monotonic() + 900
        cpu_before = cpu_sample(app)
        with b.profiled(app, "queue"):
            while True:
                done = [r["time"] for r in b.sandbox.control.requests(target="inquba-events") if r["status"] == 200]
                if len(done) >= n or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        app_cpu_ms, process_cpu_ms = cpu_before.per(cpu_sample(app), n)
        b.peak_rss_mb["run 3 (queue)"] = peak_rss_mb(app)
    finally:
        app.stop()
    rate = (len(done) - 1) / (max(done) - min(done))
    concurrency = host_concurrency()
    ceiling = concurrency / (LATENCY_MS / 1000)
    b.rows.append(Row("3. Queue path", f"{rate:,.0f} events/s ({describe_cpu(app_cpu_ms, process_cpu_ms)})",
                      f"ceiling {ceiling:,.0f}/s", f"{rate / ceiling:.2f}", "at least 0.8",
                      f"{n:,} messages already queued, one app process; first to last delivery as the sandbox saw "
                      f"them; ceiling = host.json concurrency {concurrency} / {LATENCY_MS} ms upstream latency; "
                      "CPU per delivery as in 3b"))
    b.rows.append(cpu_row("3b. App CPU per queued delivery", app_cpu_ms, process_cpu_ms, 3.0,
                          "as 2c, during run 3: the queue trigger's body and its tasks, against the whole process, "
                          "which adds the local runner's queue polling, message deletes and lock renewals"))


# 4 ------------------------------------------------------------------------------------------------
def customer(n: int, tag: str) -> dict[str, Any]:
    return {"id": f"{tag}-{n}", "name": f"Customer {n}", "attributes": {
        "email": f"c{n}@example.com", "first_name": "Ada", "last_name": "Lovelace", "country": "za",
        "language": "en-ZA", "tier": "Gold", "email_optin": "yes"},
        "events": [{"name": "purchase", "timestamp": "2026-01-10T21:35:20Z",
                    "params": {"order_id": f"O{n}", "currency": "USD", "quantity": 1, "sale_price": 9.5}}]}


def insider_batching(b: Bench) -> None:
    n = b.size(10_000, 500)
    tag = uuid.uuid4().hex[:8]
    name = f"bench-insider-{tag}"
    b.sandbox.control.configure(latency_ms=LATENCY_MS)
    customers = [customer(i, tag) for i in range(n)]
    asyncio.run(fill_queue(b.azurite, name, [json.dumps({"customers": customers[i:i + 100]})
                                              for i in range(0, n, 100)]))
    b.sandbox.control.clear_requests()
    app = b.app(INSIDER_SYNC_QUEUE=name, INSIDER_API_KEY="sandbox-insider-key")
    started = time.perf_counter()
    try:
        cpu_before = cpu_sample(app)
        while True:
            upserts = b.sandbox.control.requests(target="insider-upsert")
            applied = sum(len(r["json"]["users"]) for r in upserts if r["status"] == 200)
            if applied >= n or time.perf_counter() - started > 600:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        drained = wait_for_empty_queue(b.azurite, name, started)  # deleted once their customers' slices are logged
        app_cpu_ms, process_cpu_ms = cpu_before.per(cpu_sample(app), n)
    finally:
        app.stop()
    b.sandbox.control.clear_requests()

    async def one_per_update() -> float:  # Antavo's real-time sync: one upsert per profile update
        async with callers_client() as http:
            headers = {"X-PARTNER-NAME": "sandboxpartner", "X-REQUEST-TOKEN": "sandbox-insider-key"}
            users = [{"identifiers": {"uuid": c["id"]}, "attributes": {"name": "Ada"}} for c in customers]

            async def send(i: int) -> None:
                await http.post(f"{b.sandbox.url}/api/user/v1/upsert", json={"users": [users[i]]}, headers=headers)

            return await run_callers(n, send)

    usual_wall = asyncio.run(one_per_update())
    b.rows.append(Row("4. Insider batching", f"{len(upserts)} requests, {wall:.1f} s (all settled: {drained:.1f} s; "
                      f"{describe_cpu(app_cpu_ms, process_cpu_ms).replace(' each', ' per customer')})",
                      f"{n:,} requests, {usual_wall:.1f} s", f"1 : {n // max(len(upserts), 1):,}",
                      "at most 12 requests" if n == 10_000 else "at most 12 per 10,000",
                      f"{n:,} profile updates (with a purchase) queued on insider-sync, one app process, time to "
                      "the last one applied as the sandbox saw it, from the app answering its health route, and "
                      "to the queue empty (every customer's log slice written and its message deleted); usual: "
                      f"one upsert per update, {CALLERS} callers"))


# 5 ------------------------------------------------------------------------------------------------
def mapping_speed(b: Bench) -> None:
    code = (
        "import json,time\n"
        "from shared.insider.compiled_mapping import load_mapping\n"
        "from bench.scenarios import customer\n"
        "m=load_mapping(json.load(open('shared/insider/mapping.default.json')))\n"
        f"cs=[customer(i,'m') for i in range({b.size(50_000, 2_000)})]\n"
        "best=0\n"
        "for _ in range(3):\n"
        "    t=time.perf_counter()\n"
        "    for c in cs: m.map(c)\n"
        "    best=max(best,len(cs)/(time.perf_counter()-t))\n"
        "print(best)\n"
    )
    rate = float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout)
    b.rows.append(Row("5. Mapping speed", f"{rate:,.0f} customers/s", "–", "–", "at least 50,000/s",
                      "customers with 3 identifiers, 7 attributes and a purchase event mapped and validated in a "
                      "fresh interpreter on one core, best of 3"))


# 6 ------------------------------------------------------------------------------------------------
# The worker's indexing (azure_functions_worker/loader.py): import function_app, read every attribute.
INDEX_AS_THE_WORKER = (
    "import time;t=time.perf_counter();import function_app;"
    "from local_runner.app_loader import find_function_app;find_function_app(function_app);"
    "print(time.perf_counter()-t)"
)
BARE_IMPORT = "import time;t=time.perf_counter();import azure.functions;print(time.perf_counter()-t)"
# Exports go to a closed loopback port: the figure is the cost of loading and configuring the exporter.
FAKE_APP_INSIGHTS = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"


def start_up(b: Bench) -> None:
    base_env = {k: v for k, v in app_environment({}).items() if not k.startswith("APPLICATIONINSIGHTS")}

    def once(code: str, **env: str) -> float:
        return float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base_env, **env},
                                    capture_output=True, text=True, check=True).stdout.split()[-1])

    runs: dict[str, list[float]] = {"bare": [], "indexed": [], "telemetry": []}
    for _ in range(b.size(7, 3)):  # interleaved, so that a busy moment of the machine falls on all three alike
        runs["bare"].append(once(BARE_IMPORT))
        runs["indexed"].append(once(INDEX_AS_THE_WORKER))
        runs["telemetry"].append(once(INDEX_AS_THE_WORKER, APPLICATIONINSIGHTS_CONNECTION_STRING=FAKE_APP_INSIGHTS))
    bare, indexed, telemetry = (statistics.median(runs[k]) for k in ("bare", "indexed", "telemetry"))
    b.rows.append(Row("6. Start-up", f"{indexed:.3f} s", f"{bare:.3f} s (azure.functions alone)",
                      f"+{indexed - bare:.3f} s", "within 0.15 s of the bare import",
                      "median wall time in a fresh interpreter of importing function_app and reading every "
                      "attribute as the worker's indexing does, against the bare import in the same run; "
                      "App Insights not configured"))
    b.rows.append(Row("6b. Start-up with App Insights", f"{telemetry:.3f} s", f"{bare:.3f} s",
                      f"+{telemetry - bare:.3f} s", "as small as the exporter allows",
                      "as 6, with APPLICATIONINSIGHTS_CONNECTION_STRING set: the Azure Monitor OpenTelemetry "
                      "distro is loaded and configured at start-up so that indexing and first calls are traced"))


def idle_cost(b: Bench) -> None:
    """Invocations of an idle app: timers from their schedules over 10 minutes, others observed while idle."""
    from local_runner.app_loader import load_app
    from local_runner.timers import parse_schedule

    logging.getLogger("function_app").disabled = True  # its settings complaint: this process has no app settings
    app = load_app(ROOT)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fires: dict[str, int] = {}
    for function in app.get_functions():
        for binding in function.get_bindings():
            if binding.type == "timerTrigger":
                schedule, moment, count = parse_schedule(binding.schedule), start, 0
                while (moment := schedule.next_after(moment)) <= start + timedelta(minutes=10):
                    count += 1
                fires[function.get_function_name()] = count
    window = b.size(60, 10)
    process = b.app(INSIDER_API_KEY="sandbox-insider-key")
    try:
        process.output.clear()  # start-up done; from here the app has nothing to do
        time.sleep(window)
        observed = sum("Executing 'Functions." in line for line in process.output)
    finally:
        process.stop()
    other_timers = sum(n for name, n in fires.items() if name != "outbound_log_retention_timer")
    per_ten_minutes = observed * 600 / window + other_timers
    b.rows.append(Row("9. Idle invocations", f"{per_ten_minutes:.0f} per 10 min", "–", "–",
                      "0 (the hourly retention aside)",
                      f"timer fires in 10 minutes from every schedule ({fires}), plus the invocations of a running "
                      f"app left idle for {window} s, scaled to 10 minutes; the hourly retention is not counted"))


# 7 ------------------------------------------------------------------------------------------------
def per_operation(proxies: StorageProxies, operations: int, queue: str | None = None) -> dict[str, float]:
    """Transactions per operation by service (the named queue's message calls only: polls of other queues are
    the idle cost, figure 9's subject), and for that queue by kind of call."""
    result = {"table": proxies.table.transactions / operations, "blob": proxies.blob.transactions / operations}
    if queue is not None:
        for kind in ("send", "receive", "delete", "update"):
            result[kind] = proxies.queue.count(kind, queue) / operations
    return result


def breakdown(counts: dict[str, float], parts: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {counts[name]:.2f}" for name in parts if counts.get(name))


async def batch_settled(azurite: Azurite, batch_id: str, queue: str) -> bool:
    """Every item of the batch final and its message deleted, read from Azurite directly (not counted)."""
    from azure.data.tables.aio import TableClient

    from shared.delivery.records import FINAL_STATUSES

    async with TableClient.from_connection_string(azurite.connection_string, "batchitems") as table:
        statuses = [e.get("Status") async for e in table.query_entities(
            "PartitionKey eq @pk and RowKey ne '~batch'", parameters={"pk": batch_id}, select=["Status"])]
    return all(s in FINAL_STATUSES for s in statuses) and not await approximate_messages(azurite, queue)


def storage_cost(b: Bench) -> None:
    n = b.size(200, 40)
    customers_n = b.size(1000, 200)
    proxies = StorageProxies.start(b.azurite)
    b.sandbox.control.configure(latency_ms=0)
    tag = uuid.uuid4().hex[:8]
    app = b.app(storage=proxies.connection_string, INSIDER_API_KEY="sandbox-insider-key")
    try:
        with httpx.Client(base_url=app.base_url, headers={"x-functions-key": KEY}, timeout=60) as http:
            http.post("/api/inquba/events", json=event(-1, "warm")).raise_for_status()
            proxies.reset()
            for i in range(n):
                http.post("/api/inquba/events", json=event(i, tag)).raise_for_status()
            per_http = per_operation(proxies, n)

            proxies.reset()
            accepted = http.post("/api/inquba/events/batch", json={"events": [event(i, tag) for i in range(n)]})
            accepted.raise_for_status()
            deadline = time.monotonic() + 300
            while not asyncio.run(batch_settled(b.azurite, accepted.json()["batchId"], "inquba-events")):
                if time.monotonic() > deadline:
                    raise RuntimeError("the batch did not settle")
                time.sleep(0.5)
            per_queued = per_operation(proxies, n, "inquba-events")

            # A producer's own messages (no batchId): each has a delivery record, read first (duplicate guard).
            proxies.reset()
            b.sandbox.control.clear_requests()
            asyncio.run(fill_queue(b.azurite, "inquba-events", [json.dumps(
                {"kind": "event", "identifier": f"p{tag}-{i}", "payload": event(i, f"p{tag}")}) for i in range(n)]))
            deadline = time.monotonic() + 300
            while len([r for r in b.sandbox.control.requests(target="inquba-events") if r["status"] == 200]) < n:
                if time.monotonic() > deadline:
                    raise RuntimeError("the producer's messages were not delivered")
                time.sleep(0.5)
            wait_for_empty_queue(b.azurite, "inquba-events")
            per_produced = per_operation(proxies, n, "inquba-events")

            customers = [customer(i, tag) for i in range(customers_n)]
            proxies.reset()
            for i in range(0, customers_n, 100):
                http.post("/api/insider/sync", json={"customers": customers[i:i + 100]}).raise_for_status()
            per_insider = per_operation(proxies, customers_n)

            queued = [customer(i, f"q{tag}") for i in range(customers_n)]
            b.sandbox.control.clear_requests()
            proxies.reset()
            asyncio.run(fill_queue(b.azurite, "insider-sync", [json.dumps({"customers": queued[i:i + 100]})
                                                               for i in range(0, customers_n, 100)]))
            deadline = time.monotonic() + 300
            while sum(len(r["json"]["users"]) for r in b.sandbox.control.requests(target="insider-upsert")
                      if r["status"] == 200) < customers_n and time.monotonic() < deadline:
                time.sleep(0.5)
            wait_for_empty_queue(b.azurite, "insider-sync")
            per_insider_queued = per_operation(proxies, customers_n, "insider-sync")

            erased_n = min(customers_n, 100)  # customers synced over HTTP above: each has log entries to erase
            proxies.reset()
            http.post("/api/insider/erase", json={"customers": customers[:erased_n], "action": "delete"}
                      ).raise_for_status()
            per_erase = per_operation(proxies, erased_n)
    finally:
        app.stop()
        proxies.stop()

    def total(counts: dict[str, float], without: tuple[str, ...] = ()) -> float:
        return sum(v for k, v in counts.items() if k not in without)

    how = ("counted by proxies in front of Azurite's table, queue and blob endpoints, one per request as Azure bills "
           "them (a $batch of up to 100 entities counts once, a receive of up to 32 messages once); ")
    services = ("table", "blob")
    message_calls = ("table", "receive", "delete", "update", "blob")
    b.rows.append(Row("7. Storage per HTTP publish", f"{total(per_http):.2f} ({breakdown(per_http, services)})",
                      "–", "–", "–", how + f"{n} sequential POST /api/inquba/events: the outbound log entry and its "
                      "identifier index"))
    item = total(per_queued, ("send",))
    b.rows.append(Row("7b. Storage per queued inQuba item",
                      f"{item:.2f} with its receive and delete ({breakdown(per_queued, message_calls)}); "
                      f"+{per_queued['send']:.2f} its send by the batch route; a producer's own message "
                      f"{total(per_produced, ('send',)):.2f} ({breakdown(per_produced, message_calls)})",
                      "–", "–", "at most 2.5 (batch item)",
                      how + f"one POST /api/inquba/events/batch of {n} items until every item is final and its "
                      "message deleted: the batch's entities, each item's status and log entry, the queue calls on "
                      f"its queue (the runner's, the host's in Azure); then {n} messages written by a producer "
                      "(no batchId): the delivery record read and written, the log entry, receive and delete"))
    b.rows.append(Row("7c. Storage per Insider customer",
                      f"{total(per_insider):.2f} synced over HTTP ({breakdown(per_insider, services)}); "
                      f"{total(per_insider_queued, ('send',)):.2f} queued, with its message's receive and delete "
                      f"({breakdown(per_insider_queued, message_calls)})",
                      "–", "–", "–",
                      how + f"{customers_n:,} customers through POST /api/insider/sync (100 per request), then "
                      f"{customers_n:,} in messages of 100 on insider-sync: each customer's log slice, each upsert's "
                      "log entry, the mapping and pause blobs"))
    b.rows.append(Row("7d. Storage per erase",
                      f"{total(per_erase):.2f} per customer ({breakdown(per_erase, services)})", "–", "–", "–",
                      how + f"POST /api/insider/erase of {erased_n} customers synced before (action delete): the erase "
                      "call's log entry, the customer's index read and each of its log entries erased in place (main "
                      "entity, index entities), the delivery copies they name"))
    lookup = outbound_log_lookup(b)
    if lookup:
        b.rows.append(lookup)


def outbound_log_lookup(b: Bench) -> Row | None:
    try:
        from bench.outbound_log_lookup import measure
    except ImportError:  # the outbound log query API is not in this build
        return None
    return measure(b)


SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "token": token_economy,
    "gateway": gateway_throughput,
    "queue": queue_path,
    "insider": insider_batching,
    "mapping": mapping_speed,
    "startup": start_up,
    "idle": idle_cost,
    "storage": storage_cost,
}
