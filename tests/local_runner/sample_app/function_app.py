"""A small, generic Functions app used to test the local runner (not the product app)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


class State:
    """What the functions saw; tests in the same process read it, the E2E test reads /api/processed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, barrier_size: int = 0) -> None:
        self.processed: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.ticks: list[bool] = []
        self.tick_should_fail = True
        self.barrier_size = barrier_size
        self.barrier_arrived = 0
        self.barrier_open: asyncio.Event | None = None
        self.slow_started: asyncio.Event | None = None
        self.slow_cancelled = False
        self.sync_release = threading.Event()
        self.background: asyncio.Task[None] | None = None


STATE = State()


def _json(data: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(data), status_code=status, mimetype="application/json")


# ---- HTTP -------------------------------------------------------------------------------------

@app.route(route="hello/{name?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"Hello, {req.route_params.get('name', 'world')}")


@app.route(route="echo", methods=["GET", "POST"])
def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "body": req.get_body().decode("utf-8"),
        "content_type": req.headers.get("content-type"),
        "invocation_id": context.invocation_id,
        "function_name": context.function_name,
    })


@app.route(route="ops/admin-only", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin ok")


@app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "id", **req.route_params})


@app.route(route="items/{name:alpha}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "name", **req.route_params})


# Registered parameter-first on purpose: the literal route must still win.
@app.route(route="outbound-logs/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_log(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "log", **req.route_params})


@app.route(route="outbound-logs/page", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def page_of_logs(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "page"})


@app.route(route="requests/{batchId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def request_detail(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "detail", **req.route_params})


@app.route(route="requests/{batchId}/replay", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def request_replay(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"kind": "replay", **req.route_params}, status=202)


@app.route(route="files/{*path}", auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"path": req.route_params.get("path")})


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret detail that must not reach the client")


@app.route(route="nothing", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="plain-text", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def plain_text(req: func.HttpRequest) -> str:
    return "just a string"


@app.route(route="headers", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def headers(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse(b"\x00\x01", status_code=201, mimetype="application/octet-stream")
    response.headers.add("X-Multi", "one")
    response.headers.add("X-Multi", "two")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="barrier", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def barrier(req: func.HttpRequest) -> func.HttpResponse:
    """Returns only once `barrier_size` calls are inside the function at the same time."""
    if STATE.barrier_open is None:
        STATE.barrier_open = asyncio.Event()
    STATE.barrier_arrived += 1
    if STATE.barrier_arrived >= STATE.barrier_size:
        STATE.barrier_open.set()
    try:
        await asyncio.wait_for(STATE.barrier_open.wait(), timeout=20)
    except TimeoutError:
        return func.HttpResponse("barrier never opened", status_code=504)
    return func.HttpResponse("through")


@app.route(route="sync-info", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def sync_info(req: func.HttpRequest) -> func.HttpResponse:
    try:
        asyncio.get_running_loop()
        loop_running = True
    except RuntimeError:
        loop_running = False
    return _json({"main_thread": threading.current_thread() is threading.main_thread(),
                  "loop_running": loop_running})


def _burn(ms: float) -> None:
    """Spend `ms` milliseconds of this thread's CPU."""
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


@app.route(route="spin", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def spin(req: func.HttpRequest) -> func.HttpResponse:
    """`ms` of CPU in its body, `ms` in a task it awaits, `ms` in a task it leaves running, and a 50 ms sleep."""
    ms = float(req.params.get("ms", "10"))

    async def child() -> None:
        await asyncio.sleep(0)
        _burn(ms)

    _burn(ms)
    await asyncio.sleep(0.05)
    await asyncio.create_task(child())
    STATE.background = asyncio.create_task(child())
    return func.HttpResponse("spun")


@app.route(route="spin-sync", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def spin_sync(req: func.HttpRequest) -> func.HttpResponse:
    _burn(float(req.params.get("ms", "10")))
    return func.HttpResponse("spun")


@app.route(route="processed", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def processed(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"processed": STATE.processed, "failures": STATE.failures, "ticks": STATE.ticks})


# ---- queues -----------------------------------------------------------------------------------

@app.queue_trigger(arg_name="msg", queue_name="%OK_QUEUE%", connection="AzureWebJobsStorage")
def ok_queue(msg: func.QueueMessage) -> None:
    STATE.processed.append({"id": msg.id, "body": msg.get_body().decode("utf-8"),
                            "dequeue_count": msg.dequeue_count})
    logging.info("processed %s", msg.id)


@app.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%", connection="AzureWebJobsStorage")
async def fail_queue(msg: func.QueueMessage) -> None:
    STATE.failures.append({"id": msg.id, "body": msg.get_body().decode("utf-8", "replace"),
                           "dequeue_count": msg.dequeue_count})
    raise ValueError(f"always fails (dequeue count {msg.dequeue_count})")


@app.queue_trigger(arg_name="msg", queue_name="%SLOW_QUEUE%", connection="AzureWebJobsStorage")
async def slow_queue(msg: func.QueueMessage) -> None:
    if STATE.slow_started is None:
        STATE.slow_started = asyncio.Event()
    STATE.slow_started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        STATE.slow_cancelled = True
        raise


# ---- timer ------------------------------------------------------------------------------------

@app.timer_trigger(arg_name="timer", schedule="%TICK_SCHEDULE%", run_on_startup=True)
def tick(timer: func.TimerRequest) -> None:
    STATE.ticks.append(timer.past_due)
    if STATE.tick_should_fail:
        STATE.tick_should_fail = False
        raise RuntimeError("first tick fails; the schedule must go on")
