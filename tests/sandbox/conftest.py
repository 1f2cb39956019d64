"""One real sandbox process (loopback) for the sandbox tests, reset before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sandbox.process import SandboxProcess, start_sandbox


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    process = start_sandbox()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess) -> SandboxProcess:
    sandbox_process.control.reset()
    return sandbox_process


@pytest.fixture
async def http(sandbox: SandboxProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10.0) as client:
        yield client
