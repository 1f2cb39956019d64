"""End to end: `python -m local_runner` as a subprocess against Azurite."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import uuid
from pathlib import Path

import httpx
from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from devstack.ports import free_port

from .conftest import SAMPLE_APP_DIR
from .helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


async def read_until_ready(stdout: asyncio.StreamReader, lines: list[str]) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no LOCAL_RUNNER_READY line within {STARTUP_SECONDS}s: {lines}")
        raw = await asyncio.wait_for(stdout.readline(), remaining)
        if not raw:
            raise AssertionError(f"the runner exited before it was ready: {lines}")
        line = raw.decode().rstrip("\n")
        lines.append(line)
        if line.startswith("LOCAL_RUNNER_READY "):
            return line.split(" ", 1)[1]


async def test_cli_end_to_end(storage_connection_string: str, tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(SAMPLE_APP_DIR, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    suffix = uuid.uuid4().hex[:10]
    ok_queue = f"e2e-ok-{suffix}"
    (app_dir / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {
        "AzureWebJobsStorage": storage_connection_string,
        "OK_QUEUE": ok_queue, "FAIL_QUEUE": f"e2e-fail-{suffix}", "SLOW_QUEUE": f"e2e-slow-{suffix}",
        "TICK_SCHEDULE": "0 0 0 1 1 *",
        "LOCAL_FUNCTION_KEY": "key-from-file",
    }}))
    env = {k: v for k, v in os.environ.items() if k not in ("AzureWebJobsStorage", "APP_PORT")}
    env["LOCAL_FUNCTION_KEY"] = "e2e-key"  # the environment wins over local.settings.json
    port = free_port()
    stderr_path = tmp_path / "runner.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "local_runner", "--app-dir", str(app_dir), "--port", str(port),
            "--grace-seconds", "5", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr)
    assert process.stdout is not None
    lines: list[str] = []
    try:
        url = await read_until_ready(process.stdout, lines)
        assert url == f"http://127.0.0.1:{port}"
        assert "Function key: e2e-key (x-functions-key header or ?code=)" in lines
        assert f"    hello: [GET] {url}/api/hello/{{name?}}" in lines
        assert f"    ok_queue: queueTrigger queue '{ok_queue}' (connection AzureWebJobsStorage)" in lines

        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            assert (await http.get("/api/hello/e2e")).text == "Hello, e2e"
            assert (await http.get("/api/echo", headers={"x-functions-key": "e2e-key"})).status_code == 200
            assert (await http.get("/api/echo", params={"code": "e2e-key"})).status_code == 200
            assert (await http.get("/api/echo")).status_code == 401
            assert (await http.get("/api/echo", params={"code": "key-from-file"})).status_code == 401
            assert (await http.get("/api/no-such-route")).status_code == 404

            async with QueueClient.from_connection_string(
                    storage_connection_string, ok_queue, message_encode_policy=TextBase64EncodePolicy()) as queue:
                await queue.send_message('{"from": "e2e"}')

            async def processed_bodies() -> list[str]:
                data = (await http.get("/api/processed")).json()
                return [item["body"] for item in data["processed"]]

            assert await eventually(processed_bodies, what="the queue message") == ['{"from": "e2e"}']

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        print(stderr_path.read_text(errors="replace"))  # shown by pytest on failure
