"""Fixtures for the local runner tests: the sample app (loaded once) and hosts against real Azurite."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from azure.storage.queue.aio import QueueServiceClient

from local_runner.host import LocalHost

SAMPLE_APP_DIR = Path(__file__).resolve().parent / "sample_app"
SAMPLE_MODULE_NAME = "local_runner_tests_sample_function_app"


def _load_sample_module() -> ModuleType:
    if SAMPLE_MODULE_NAME in sys.modules:
        return sys.modules[SAMPLE_MODULE_NAME]
    spec = importlib.util.spec_from_file_location(SAMPLE_MODULE_NAME, SAMPLE_APP_DIR / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[SAMPLE_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample() -> ModuleType:
    """The sample app module, imported under its own name (no clash with any `function_app`)."""
    return _load_sample_module()


@pytest.fixture
def state(sample: ModuleType) -> Any:
    sample.STATE.reset()
    yield sample.STATE
    sample.STATE.sync_release.set()


@pytest.fixture
def queue_names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"OK_QUEUE": f"ok-{suffix}", "FAIL_QUEUE": f"fail-{suffix}", "SLOW_QUEUE": f"slow-{suffix}"}


@pytest.fixture
def settings(storage_connection_string: str, queue_names: dict[str, str]) -> dict[str, str]:
    return {"AzureWebJobsStorage": storage_connection_string, "TICK_SCHEDULE": "0 0 0 1 1 *", **queue_names}


HostFactory = Callable[..., Awaitable[LocalHost]]


@pytest.fixture
async def make_host(sample: ModuleType, request: pytest.FixtureRequest) -> AsyncIterator[HostFactory]:
    """Start a LocalHost on a free port running only `functions`; stopped at teardown.

    Without `settings=`, the `settings` fixture (Azurite + unique queue names) is used.
    """
    hosts: list[LocalHost] = []

    async def factory(functions: Iterable[str], **kwargs: Any) -> LocalHost:
        if "settings" not in kwargs:
            kwargs["settings"] = request.getfixturevalue("settings")
        host = LocalHost(sample.app, app_dir=SAMPLE_APP_DIR, port=0, functions=list(functions), **kwargs)
        await host.start()
        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        await host.stop(grace_seconds=1)


@pytest.fixture
async def queue_service(storage_connection_string: str) -> AsyncIterator[QueueServiceClient]:
    client = QueueServiceClient.from_connection_string(storage_connection_string)
    try:
        yield client
    finally:
        await client.close()

