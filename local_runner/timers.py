"""Timer triggers: NCRONTAB (6-field) or TimeSpan schedules, run-on-startup, no overlap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from azure.functions.timer import TimerRequest
from croniter import croniter

from local_runner.host_config import parse_timespan

log = logging.getLogger("local_runner.timers")


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime: ...


@dataclass(frozen=True)
class CronSchedule:
    """`sec min hour day month day-of-week`, evaluated in `tz` (UTC unless WEBSITE_TIME_ZONE)."""

    expression: str
    tz: tzinfo = UTC

    def next_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.tz)
        return croniter(self.expression, local, second_at_beginning=True).get_next(datetime).astimezone(UTC)

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule (`hh:mm:ss`): a constant interval."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval

    def __str__(self) -> str:
        return str(self.interval)


def parse_schedule(expression: str, tz: tzinfo = UTC) -> Schedule:
    """Parse an NCRONTAB expression with seconds (6 fields) or a TimeSpan; ValueError if invalid."""
    text = expression.strip()
    fields = text.split()
    if len(fields) == 1 and ":" in text:
        interval = parse_timespan(text)
        if interval <= timedelta(0):
            raise ValueError(f"schedule {expression!r}: the interval must be positive")
        return IntervalSchedule(interval)
    if len(fields) != 6:
        raise ValueError(f"schedule {expression!r}: expected 6 NCRONTAB fields "
                         "'{second} {minute} {hour} {day} {month} {day-of-week}' or a TimeSpan")
    if not croniter.is_valid(text, second_at_beginning=True):
        raise ValueError(f"schedule {expression!r} is not a valid NCRONTAB expression")
    return CronSchedule(text, tz)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


InvokeTimer = Callable[[TimerRequest, str], Awaitable[object]]


class TimerListener:
    """Runs one timer function: optionally at start-up, then at every occurrence, never overlapping."""

    def __init__(self, name: str, schedule: Schedule, run_on_startup: bool, invoke: InvokeTimer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.name = name
        self.schedule = schedule
        self.run_on_startup = run_on_startup
        self._invoke = invoke
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._invocation: asyncio.Task[object] | None = None
        self._last: datetime | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"timer:{self.name}")

    async def _fire(self, past_due: bool, reason: str, next_due: datetime | None) -> None:
        now = self._clock()
        request = TimerRequest(
            past_due=past_due,
            schedule_status={"Last": _iso(self._last), "Next": _iso(next_due), "LastUpdated": _iso(now)},
            schedule={"AdjustForDST": True},
        )
        self._last = now
        self._invocation = asyncio.create_task(self._invoke(request, reason))
        try:
            await asyncio.shield(self._invocation)
        except asyncio.CancelledError:
            raise
        except Exception:  # logged by the invoker; a failing timer keeps its schedule
            pass
        finally:
            if self._invocation.done():
                self._invocation = None

    async def _sleep_until(self, due: datetime) -> bool:
        """Wait until `due`; False when stopping first."""
        while not self._stopping.is_set():
            remaining = (due - self._clock()).total_seconds()
            if remaining <= 0:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=remaining)
        return False

    async def _run(self) -> None:
        try:
            if self.run_on_startup and not self._stopping.is_set():
                await self._fire(False, "Timer fired at start-up (runOnStartup)",
                                 self.schedule.next_after(self._clock()))
            due = self.schedule.next_after(self._clock())
            while await self._sleep_until(due):
                following = self.schedule.next_after(due)
                past_due = self._clock() >= following  # an occurrence was missed (e.g. machine asleep)
                await self._fire(past_due, f"Timer fired at {self._clock().isoformat()}", following)
                due = self.schedule.next_after(max(self._clock(), due))
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("timer %s stopped unexpectedly", self.name)

    async def stop(self, deadline: float) -> None:
        """Stop scheduling; let a running invocation finish until `deadline` (loop time), then cancel it."""
        self._stopping.set()
        loop = asyncio.get_running_loop()
        invocation = self._invocation
        if invocation is not None and not invocation.done():
            done, _ = await asyncio.wait({invocation}, timeout=max(deadline - loop.time(), 0))
            if not done:
                log.warning("timer function %s did not finish within the grace period; cancelling it", self.name)
                invocation.cancel()
                await asyncio.gather(invocation, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
