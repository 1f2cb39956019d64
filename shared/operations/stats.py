"""Delivery statistics: per target and operation, counts by outcome and a latency histogram, in hourly rollups.

Every upstream call is counted in process memory (`DeliveryStats.record`, no I/O). About once a minute while
there are unflushed counts, and when the app context closes, the process merges what it counted into one
entity per UTC hour in `STATS_TABLE` (keys in docs/table-design.md): a read, then a write conditional on the
ETag it read, again on a conflict. So a process makes about one table write a minute however many calls it
sends, and concurrent processes never lose each other's counts. Each merge carries the process id and a
sequence number that the entity remembers, so a write whose answer was lost is not counted twice when it is
retried. A process that dies without closing loses at most the last minute of its counts.

An hour entity holds twelve 5-minute slots (`M00` ... `M55`), each a JSON object of series
`"<target>/<operation>"` -> `{"2xx": n, ..., "ms": {"<bucket>": n}}`; an hourly figure is the sum of its slots,
and percentiles come from the summed histograms (fixed bucket bounds, `LATENCY_BOUNDS_MS`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import secrets
import socket
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

logger = logging.getLogger(__name__)

PARTITION = "hours"
SLOT_MINUTES = 5
SLOTS = tuple(f"M{minute:02d}" for minute in range(0, 60, SLOT_MINUTES))
# Upper bounds (ms) of the latency buckets; one more bucket holds everything slower. Neighbours differ by
# 1.3x to 2x, so a percentile read from the histogram is within one bucket of the true value.
LATENCY_BOUNDS_MS = (5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000,
                     5000, 7500, 10000, 15000, 20000, 30000, 60000)
OUTCOMES = ("2xx", "3xx", "4xx", "5xx", "none", "other")
FLUSH_INTERVAL_SECONDS = 60.0
FLUSH_JITTER_SECONDS = 3.0
MAX_MERGE_ATTEMPTS = 20
RETENTION_DAYS = 35
Interval = Literal["5m", "1h"]
GroupBy = Literal["operation", "target"]
# Longest range a query may ask for, by interval (the answer has one bucket per interval).
MAX_SPAN = {"5m": timedelta(days=2), "1h": timedelta(days=RETENTION_DAYS)}
INTERVAL_SPAN = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1)}

Series = dict[str, Any]  # {"2xx": n, ..., "ms": {"<bucket index>": n}}
Slots = dict[str, dict[str, Series]]  # slot column -> series key -> series


def outcome_of(status_code: int | None) -> str:
    if status_code is None:
        return "none"
    if 200 <= status_code < 600:
        return f"{status_code // 100}xx"
    return "other"


def latency_bucket(seconds: float) -> int:
    """The histogram bucket of a response time: the first bound at or above it (the last bucket past them)."""
    return bisect_left(LATENCY_BOUNDS_MS, seconds * 1000)


def hour_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H")


def slot_of(epoch_ms: int) -> tuple[str, str]:
    """(hour entity's RowKey, slot column) of a moment."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return hour_key(moment), SLOTS[moment.minute // SLOT_MINUTES]


def add_series(into: Series, other: Series) -> None:
    for name, value in other.items():
        if name == "ms":
            histogram = into.setdefault("ms", {})
            for bucket, count in value.items():
                histogram[bucket] = histogram.get(bucket, 0) + count
        else:
            into[name] = into.get(name, 0) + value


def add_slots(into: Slots, other: Slots) -> None:
    for slot, series in other.items():
        target = into.setdefault(slot, {})
        for key, counts in series.items():
            add_series(target.setdefault(key, {}), counts)


@dataclass
class _Batch:
    """Counts of one hour handed to the table under one sequence number (kept as they are when a merge fails)."""

    hour: str
    seq: int
    slots: Slots


def default_process_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class DeliveryStats:
    """This process's counts: `record` per upstream call; `flush` merges them into the hour entities."""

    def __init__(
        self,
        table: TableClient,
        *,
        process_id: str | None = None,
        flush_interval: float = FLUSH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.process_id = process_id or default_process_id()
        self.flush_interval = flush_interval
        self.monotonic = monotonic
        self.writes = 0  # table writes made (each conditional write or insert tried): what the tests count
        self._pending: dict[str, Slots] = {}
        self._failed: list[_Batch] = []
        self._seq = 0
        self._last_flush = monotonic()
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def unflushed(self) -> bool:
        return bool(self._pending or self._failed)

    def record(self, target: str, operation: str, status_code: int | None, seconds: float, epoch_ms: int) -> None:
        """Count one call (no I/O) and make sure a flush is due within the flush interval."""
        hour, slot = slot_of(epoch_ms)
        series = self._pending.setdefault(hour, {}).setdefault(slot, {}).setdefault(f"{target}/{operation}", {})
        outcome = outcome_of(status_code)
        series[outcome] = series.get(outcome, 0) + 1
        histogram = series.setdefault("ms", {})
        bucket = str(latency_bucket(seconds))
        histogram[bucket] = histogram.get(bucket, 0) + 1
        self._schedule()

    def _schedule(self) -> None:
        if self._closed or (self._timer is not None and not self._timer.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: the counts wait for the next flush or close
            return
        delay = max(0.0, self._last_flush + self.flush_interval - self.monotonic())
        delay += random.uniform(0, FLUSH_JITTER_SECONDS)  # processes that started together do not flush together
        self._timer = loop.create_task(self._flush_later(delay), name="delivery stats flush")

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timer = None
        await self.flush()

    async def flush(self) -> None:
        """Merge everything counted so far; what cannot be written now is kept for the next flush."""
        async with self._lock:
            self._last_flush = self.monotonic()
            batches, self._failed = self._failed, []
            for hour, slots in sorted(self._pending.items()):
                self._seq += 1
                batches.append(_Batch(hour, self._seq, slots))
            self._pending = {}
            blocked: set[str] = set()
            for index, batch in enumerate(batches):
                # Batches of an hour go in sequence order: a later one must not be applied before an earlier one
                # whose fate is unknown, or the entity's remembered sequence number would hide the earlier one.
                if batch.hour in blocked:
                    self._failed.append(batch)
                    continue
                try:
                    await self._merge(batch)
                except Exception as exc:  # storage down or contended: kept, retried by the next flush
                    logger.warning("delivery stats: merge of hour %s failed (%s); kept for the next flush",
                                   batch.hour, type(exc).__name__)
                    blocked.add(batch.hour)
                    self._failed.append(batch)
                except BaseException:  # cancelled (the loop is ending): the close's flush takes what is left
                    self._failed.extend(batches[index:])
                    raise
        if self._failed:
            self._schedule()

    async def _merge(self, batch: _Batch) -> None:
        for attempt in range(MAX_MERGE_ATTEMPTS):
            try:
                entity: dict[str, Any] | None = await self.table.get_entity(PARTITION, batch.hour)
            except ResourceNotFoundError:
                entity = None
            applied = json.loads(entity.get("Applied") or "{}") if entity else {}
            if applied.get(self.process_id, 0) >= batch.seq:
                return  # an earlier try went through although its answer was lost
            applied[self.process_id] = batch.seq
            merged = _merged_entity(entity, batch, applied)
            self.writes += 1
            try:
                if entity is None:
                    await self.table.create_entity(merged)
                else:
                    await self.table.update_entity(merged, mode=UpdateMode.REPLACE, etag=entity.metadata["etag"],
                                                   match_condition=MatchConditions.IfNotModified)
                return
            except ResourceExistsError:
                pass  # another process created the hour first: merge into its entity
            except HttpResponseError as exc:
                if exc.status_code != 412:
                    raise
            await asyncio.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # another process merged in between
        raise RuntimeError(f"hour {batch.hour}: still contended after {MAX_MERGE_ATTEMPTS} tries")

    async def close(self) -> None:
        """The last flush, when the app context closes."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.unflushed:
            await self.flush()


def _merged_entity(entity: dict[str, Any] | None, batch: _Batch, applied: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"PartitionKey": PARTITION, "RowKey": batch.hour}
    for slot in SLOTS:
        current = json.loads(entity[slot]) if entity and entity.get(slot) else {}
        if slot in batch.slots:
            add_slots({slot: current}, {slot: batch.slots[slot]})
        if current:
            out[slot] = json.dumps(current, separators=(",", ":"), sort_keys=True)
    out["Applied"] = json.dumps(applied, separators=(",", ":"))
    out["UpdatedAt"] = datetime.now(UTC)
    return out


# --- Reading --------------------------------------------------------------------------------------------------


def percentile_ms(histogram: list[int], quantile: float) -> float | None:
    """The nearest-rank percentile, placed linearly inside its bucket; None without calls."""
    total = sum(histogram)
    if not total:
        return None
    rank = max(1, math.ceil(quantile * total))
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0.0
            upper = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else lower
            return round(lower + (upper - lower) * (rank - seen) / count, 1)
        seen += count
    return None  # not reached: the ranks add up to the total


@dataclass
class Tally:
    """Counts of one series over some time: outcomes and the dense histogram."""

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def add(self, series: Series) -> None:
        for name in OUTCOMES:
            self.outcomes[name] += series.get(name, 0)
        for bucket, count in series.get("ms", {}).items():
            index = int(bucket)
            if 0 <= index < len(self.histogram):
                self.histogram[index] += count

    def as_json(self, *, histogram: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"count": sum(self.outcomes.values()), "outcomes": dict(self.outcomes),
                                "p50Ms": percentile_ms(self.histogram, 0.50),
                                "p95Ms": percentile_ms(self.histogram, 0.95)}
        if histogram:
            body["histogram"] = list(self.histogram)
        return body


@dataclass(frozen=True)
class StatsQuery:
    start: datetime
    end: datetime
    interval: Interval = "5m"
    group_by: GroupBy = "operation"
    target: str | None = None
    operation: str | None = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bucket_start(moment: datetime, interval: Interval) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if interval == "1h":
        return moment.replace(minute=0)
    return moment.replace(minute=moment.minute - moment.minute % SLOT_MINUTES)


def _slots_of(entity: dict[str, Any]) -> Iterable[tuple[datetime, dict[str, Series]]]:
    hour = datetime.strptime(entity["RowKey"], "%Y%m%d%H").replace(tzinfo=UTC)
    for index, slot in enumerate(SLOTS):
        if entity.get(slot):
            yield hour + timedelta(minutes=index * SLOT_MINUTES), json.loads(entity[slot])


async def query_stats(table: TableClient, query: StatsQuery) -> dict[str, Any]:
    """Buckets of `query.interval` whose start lies in [start rounded down, end], per series, with totals."""
    first = bucket_start(query.start, query.interval)
    entities = table.query_entities(
        "PartitionKey eq @pk and RowKey ge @first and RowKey le @last",
        parameters={"pk": PARTITION, "first": hour_key(first), "last": hour_key(query.end)},
    )
    totals: dict[tuple[str, str | None], Tally] = {}
    buckets: dict[tuple[str, str | None], dict[datetime, Tally]] = {}
    read = 0
    async for entity in entities:
        read += 1
        for start, series in _slots_of(entity):
            if not first <= start <= query.end:
                continue
            when = bucket_start(start, query.interval)
            for key, counts in series.items():
                target, _, operation = key.partition("/")
                if (query.target and target != query.target) or (query.operation and operation != query.operation):
                    continue
                name = (target, operation if query.group_by == "operation" else None)
                totals.setdefault(name, Tally()).add(counts)
                buckets.setdefault(name, {}).setdefault(when, Tally()).add(counts)
    series_out = []
    for name in sorted(totals, key=lambda n: (n[0], n[1] or "")):
        target, operation = name
        entry: dict[str, Any] = {"target": target}
        if operation is not None:
            entry["operation"] = operation
        entry["total"] = totals[name].as_json(histogram=True)
        entry["buckets"] = [{"start": _iso(when), **tally.as_json()} for when, tally in sorted(buckets[name].items())]
        series_out.append(entry)
    return {"from": _iso(query.start), "to": _iso(query.end), "interval": query.interval, "groupBy": query.group_by,
            "latencyBoundsMs": list(LATENCY_BOUNDS_MS), "series": series_out, "entitiesRead": read}


async def delete_expired(table: TableClient, now: datetime, retention_days: int = RETENTION_DAYS) -> int:
    """Delete the hour entities older than the retention; how many were deleted."""
    cutoff = hour_key(now - timedelta(days=retention_days))
    deleted = 0
    old = table.query_entities("PartitionKey eq @pk and RowKey lt @cutoff", parameters={"pk": PARTITION,
                               "cutoff": cutoff}, select=["PartitionKey", "RowKey"])
    async for entity in old:
        try:
            await table.delete_entity(PARTITION, entity["RowKey"])
            deleted += 1
        except ResourceNotFoundError:
            pass
    return deleted
