"""Timer triggers: schedule parsing and a running timer that survives a failing invocation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runner.timers import CronSchedule, IntervalSchedule, TimerListener, parse_schedule

from .conftest import HostFactory
from .helpers import eventually


def test_ncrontab_six_fields() -> None:
    schedule = parse_schedule("0 */5 * * * *")
    assert isinstance(schedule, CronSchedule)
    start = datetime(2024, 1, 1, 10, 2, 30, tzinfo=UTC)
    assert schedule.next_after(start) == datetime(2024, 1, 1, 10, 5, 0, tzinfo=UTC)
    weekdays = parse_schedule("0 30 9 * * 1-5")
    assert weekdays.next_after(datetime(2024, 1, 6, tzinfo=UTC)) == datetime(2024, 1, 8, 9, 30, tzinfo=UTC)  # Sat→Mon
    assert parse_schedule("*/10 * * * * *").next_after(start) == start + timedelta(seconds=10)


def test_timespan_schedule() -> None:
    schedule = parse_schedule("00:05:00")
    assert isinstance(schedule, IntervalSchedule)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert schedule.next_after(start) == start + timedelta(minutes=5)


@pytest.mark.parametrize("expression", ["*/5 * * * *", "0 0 25 * * *", "not a schedule", "00:00:00", ""])
def test_invalid_schedules(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(expression)


async def test_timer_runs_on_startup_and_on_schedule_and_survives_errors(make_host: HostFactory,
                                                                         state: Any) -> None:
    await make_host(["tick"], settings={"TICK_SCHEDULE": "* * * * * *"})
    # The first (start-up) invocation raises; the schedule must keep firing.
    await eventually(lambda: len(state.ticks) >= 3, what="three timer invocations")
    assert state.ticks[:3] == [False, False, False]


async def test_stop_cancels_a_timer_invocation_after_the_grace_period() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def invoke(request: Any, reason: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    listener = TimerListener("t", parse_schedule("0 0 0 1 1 *"), True, invoke)
    await listener.start()
    await asyncio.wait_for(started.wait(), 10)
    await listener.stop(asyncio.get_running_loop().time() + 0.1)
    assert cancelled.is_set()
