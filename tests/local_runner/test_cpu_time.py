"""LOCAL_RUNNER_STATS: the app's own CPU time, without the runner's HTTP serving and polling."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx

from local_runner.cpu_time import STATS_SETTING, CpuAccounting
from local_runner.http_server import STATS_PATH

from .conftest import HostFactory

MASTER_KEY = "local-dev-master-key"
FUNCTIONS = ["spin", "spin_sync", "hello"]


async def stats(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(STATS_PATH, headers={"x-functions-key": MASTER_KEY})
    response.raise_for_status()
    return response.json()


async def test_counts_the_body_and_the_tasks_it_starts_not_the_waiting(make_host: HostFactory, state: Any) -> None:
    host = await make_host(FUNCTIONS, settings={STATS_SETTING: "1"})
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as http:
        for _ in range(3):
            assert (await http.get("/api/spin", params={"ms": "20"})).text == "spun"
        assert state.background is not None
        await asyncio.wait_for(asyncio.shield(state.background), 5)  # the last task it left running
        spin = (await stats(http))["functions"]["spin"]
        assert spin["invocations"] == 3
        # 3 × (body + awaited task + background task) × 20 ms; the 50 ms sleeps cost nothing.
        assert 0.18 <= spin["cpuSeconds"] < 0.18 + 0.05, spin

        await http.get("/api/spin-sync", params={"ms": "30"})
        sync = (await stats(http))["functions"]["spin_sync"]
        assert sync["invocations"] == 1 and 0.03 <= sync["cpuSeconds"] < 0.045, sync


async def test_the_runners_own_work_is_not_counted(make_host: HostFactory, state: Any) -> None:
    host = await make_host(FUNCTIONS, settings={STATS_SETTING: "1"})
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as http:
        before = await stats(http)
        for _ in range(200):
            assert (await http.get("/api/hello")).status_code == 200
        after = await stats(http)
    app = after["appCpuSeconds"] - before["appCpuSeconds"]
    process = after["processCpuSeconds"] - before["processCpuSeconds"]
    # A trivial function: the CPU goes to the server (and this test's client, in the same process), not the app.
    assert after["functions"]["hello"]["invocations"] == 200
    assert app < process / 5, (app, process)


async def test_stats_need_the_master_key_and_the_setting(make_host: HostFactory, state: Any) -> None:
    with_stats = await make_host(FUNCTIONS, settings={STATS_SETTING: "1"})
    without = await make_host(FUNCTIONS, settings={})
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(with_stats.url + STATS_PATH)).status_code == 401
        assert (await http.get(with_stats.url + STATS_PATH,
                               headers={"x-functions-key": "local-dev-function-key"})).status_code == 401
        assert (await http.get(without.url + STATS_PATH, headers={"x-functions-key": MASTER_KEY})).status_code == 404


async def test_a_metered_coroutine_looks_like_one_to_inspect() -> None:
    async def body() -> int:
        await asyncio.sleep(0)
        return 7

    metered = CpuAccounting().measure("f", body())
    assert inspect.getcoroutinestate(metered) == inspect.CORO_CREATED  # type: ignore[arg-type]
    task = asyncio.ensure_future(metered)
    await asyncio.sleep(0)
    assert inspect.getcoroutinestate(metered) == inspect.CORO_SUSPENDED  # type: ignore[arg-type]
    assert task.get_stack() and await task == 7
