"""The real path: the app in the local runner (a child process) on Azurite, talking to the sandbox server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from devstack.app_process import AppProcess, app_environment, start_app
from devstack.azurite import Azurite
from devstack.ports import free_port
from devstack.sandbox_settings import sandbox_settings
from sandbox.client import SandboxControl
from sandbox.process import SandboxProcess, start_sandbox

# Planted secrets: a test at the end of the session looks for them everywhere they must not be.
CANARY_PASSWORD = "canary-pw-6f1d2e"
CANARY_CLIENT_SECRET = "canary-cs-93ab7c"
CANARY_INSIDER_KEY = "canary-ik-55e0aa"
FUNCTION_KEY = "test-function-key"
T = TypeVar("T")
TENANTS = {
    "sandbox": {"username": "sandbox-user", "password": CANARY_PASSWORD, "client_id": "sandbox-client",
                "client_secret": CANARY_CLIENT_SECRET},
    "second": {"username": "second-user", "password": CANARY_PASSWORD, "client_id": "second-client",
               "client_secret": CANARY_CLIENT_SECRET},
    "scaleout": {"username": "scaleout-user", "password": CANARY_PASSWORD, "client_id": "scaleout-client",
                 "client_secret": CANARY_CLIENT_SECRET},
}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    process = start_sandbox(config={"tenants": TENANTS, "insider_api_key": CANARY_INSIDER_KEY})
    try:
        yield process
    finally:
        process.stop()


def app_env(azurite: Azurite, sandbox: SandboxProcess, **overrides: str) -> dict[str, str]:
    settings = {
        **sandbox_settings(sandbox.url),
        "AzureWebJobsStorage": azurite.connection_string,
        "INQUBA_PASSWORD": CANARY_PASSWORD,
        "INQUBA_CLIENT_SECRET": CANARY_CLIENT_SECRET,
        "INSIDER_API_KEY": CANARY_INSIDER_KEY,
        "LOCAL_FUNCTION_KEY": FUNCTION_KEY,
        "UPSTREAM_TIMEOUT_SECONDS": "2",
        "UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS": "1",
        "DELIVERY_MAX_ATTEMPTS": "3",
        "RETRY_BASE_DELAY_SECONDS": "0",
        **overrides,
    }
    # Tests pin every setting: neither the developer's shell nor local.settings.json may leak in.
    env = app_environment({})
    for name in list(env):
        if name.startswith(("INQUBA_", "INSIDER_", "AzureWebJobsStorage", "UPSTREAM_", "OUTBOUND_", "DELIVERY_",
                            "RETRY_", "MAX_")):
            del env[name]
    env.update(settings)
    return env


@dataclass
class RunningApp:
    process: AppProcess
    client: httpx.Client

    @property
    def output(self) -> str:
        return "".join(self.process.output)


def run_app(azurite: Azurite, sandbox: SandboxProcess, *, port: int | None = None, **overrides: str) -> RunningApp:
    """The app in its own process; `port` to come back where a stopped one was (as an app keeps its host name)."""
    process = start_app(app_env(azurite, sandbox, **overrides), port or free_port())
    client = httpx.Client(base_url=process.base_url, headers={"x-functions-key": FUNCTION_KEY}, timeout=30.0)
    return RunningApp(process, client)


@pytest.fixture(scope="session")
def app(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[RunningApp]:
    running = run_app(azurite, sandbox)
    try:
        yield running
    finally:
        running.client.close()
        running.process.stop()


@pytest.fixture
def upstream(sandbox: SandboxProcess) -> Iterator[SandboxControl]:
    """The sandbox's controls, reset to its start-up config around each test."""
    sandbox.control.reset()
    yield sandbox.control
    sandbox.control.reset()


def wait_until(predicate: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


def poll_batch(app: RunningApp, location: str, timeout: float = 90.0) -> dict[str, Any]:
    """Follow a 202 Location like Logic Apps does, until the answer is no longer 202."""

    def done() -> dict[str, Any] | None:
        response = app.client.get(location)
        assert response.status_code in (200, 202), response.text
        return response.json() if response.status_code == 200 else None

    return wait_until(done, timeout)


# The browser tests drive Debian's Chromium through playwright (which never downloads a browser here).
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: run `make "
                                    "system-tools` (installs Debian's chromium; playwright downloads none here)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
