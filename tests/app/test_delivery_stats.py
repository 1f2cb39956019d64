"""Delivery statistics on real Azurite: merges that lose nothing, one write per flush, percentiles within a bucket."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError
from azure.data.tables.aio import TableClient

from shared.operations.stats import (
    LATENCY_BOUNDS_MS,
    DeliveryStats,
    StatsQuery,
    latency_bucket,
    percentile_ms,
    query_stats,
)

HOUR = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class LosingAnswers:
    """The real table, except that the first conditional write's answer is lost after it was applied."""

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    async def update_entity(self, entity: dict[str, Any], **kwargs: Any) -> Any:
        result = await self.table.update_entity(entity, **kwargs)
        if not self.lost:
            self.lost = True
            raise ServiceResponseError("connection reset after the write")
        return result


def _totals(body: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(s["target"], s.get("operation")): s["total"] for s in body["series"]}


async def test_two_processes_merging_the_same_hours_lose_nothing_and_write_once_a_flush(table: TableClient) -> None:
    processes = [DeliveryStats(table, process_id=f"p{n}", flush_interval=3600) for n in range(2)]
    rng = random.Random(5)
    expected = {"2xx": 0, "5xx": 0, "none": 0}
    for round_ in range(5):
        for stats in processes:
            for n in range(200):
                status = rng.choice([200, 200, 200, 503, None])
                expected[{200: "2xx", 503: "5xx", None: "none"}[status]] += 1
                stats.record("inquba", "event", status, rng.uniform(0.001, 0.4),
                             ms(HOUR + timedelta(minutes=round_ * 10 + n % 7)))
        await asyncio.gather(*(stats.flush() for stats in processes))  # concurrently: conflicts are retried
    body = await query_stats(table, StatsQuery(HOUR, HOUR + timedelta(hours=1), "5m"))
    total = _totals(body)[("inquba", "event")]
    assert total["count"] == 2000
    assert {k: total["outcomes"][k] for k in expected} == expected
    # One hour entity: a flush writes it once, plus one more try per conflict with the other process.
    writes = sum(stats.writes for stats in processes)
    assert 10 <= writes <= 20, writes
    assert body["entitiesRead"] == 1
    assert [b["start"] for b in _buckets(body)] == [f"2026-11-30T12:{m:02d}:00Z" for m in range(0, 50, 5)]


def _buckets(body: dict[str, Any]) -> list[dict[str, Any]]:
    (series,) = body["series"]
    return series["buckets"]


async def test_a_write_whose_answer_was_lost_is_not_counted_twice(table: TableClient) -> None:
    seed = DeliveryStats(table, process_id="seed")
    seed.record("insider", "upsert", 200, 0.02, ms(HOUR))
    await seed.flush()  # the hour entity exists: the next merge is a conditional update
    losing = LosingAnswers(table)
    stats = DeliveryStats(losing, process_id="p1")  # type: ignore[arg-type]
    for _ in range(10):
        stats.record("insider", "upsert", 200, 0.02, ms(HOUR + timedelta(minutes=1)))
    await stats.flush()
    assert losing.lost and stats.unflushed  # kept: the app cannot know the write went through
    stats.record("insider", "upsert", 500, 0.02, ms(HOUR + timedelta(minutes=2)))
    await stats.flush()  # the kept batch is found applied (its sequence number), the new one is merged
    assert not stats.unflushed
    body = await query_stats(table, StatsQuery(HOUR, HOUR + timedelta(hours=1), "1h"))
    assert _totals(body)[("insider", "upsert")]["outcomes"]["2xx"] == 11
    assert _totals(body)[("insider", "upsert")]["outcomes"]["5xx"] == 1


async def test_hourly_and_per_target_buckets_add_up_the_slots(table: TableClient) -> None:
    stats = DeliveryStats(table, process_id="p")
    for minute in (0, 20, 55, 65, 130):
        stats.record("inquba", "event", 200, 0.01, ms(HOUR + timedelta(minutes=minute)))
        stats.record("inquba", "token", 401, 0.01, ms(HOUR + timedelta(minutes=minute)))
        stats.record("insider", "upsert", 200, 0.01, ms(HOUR + timedelta(minutes=minute)))
    await stats.close()
    body = await query_stats(table, StatsQuery(HOUR, HOUR + timedelta(hours=3), "1h", "target"))
    by_target = {s["target"]: s for s in body["series"]}
    assert [(b["start"][11:16], b["count"]) for b in by_target["inquba"]["buckets"]] == [
        ("12:00", 6), ("13:00", 2), ("14:00", 2)]
    assert by_target["inquba"]["total"]["outcomes"]["4xx"] == 5
    assert "operation" not in by_target["inquba"]
    # Buckets whose start is in [from rounded down, to]: 12:15 to 13:05 holds the calls of 12:20, 12:55 and 13:05.
    only = await query_stats(table, StatsQuery(HOUR + timedelta(minutes=17), HOUR + timedelta(minutes=65), "5m",
                                               target="inquba", operation="event"))
    assert [(b["start"][11:16], b["count"]) for b in _buckets(only)] == [("12:20", 1), ("12:55", 1), ("13:05", 1)]


def test_percentiles_from_the_histogram_are_within_one_bucket_of_the_true_value() -> None:
    rng = random.Random(11)
    for _ in range(200):
        samples = [rng.lognormvariate(math.log(0.05), 1.0) for _ in range(rng.randint(1, 3000))]
        histogram = [0] * (len(LATENCY_BOUNDS_MS) + 1)
        for seconds in samples:
            histogram[latency_bucket(seconds)] += 1
        ordered = sorted(samples)
        for quantile in (0.5, 0.95):
            true = ordered[max(1, math.ceil(quantile * len(ordered))) - 1]
            estimate = percentile_ms(histogram, quantile)
            assert estimate is not None
            assert abs(latency_bucket(estimate / 1000) - latency_bucket(true)) <= 1, (quantile, true, estimate)
    assert percentile_ms([0] * (len(LATENCY_BOUNDS_MS) + 1), 0.95) is None


async def test_an_idle_process_writes_nothing_and_a_flush_is_due_within_the_interval(table: TableClient) -> None:
    stats = DeliveryStats(table, process_id="idle", flush_interval=0.2)
    await asyncio.sleep(0.5)
    assert stats.writes == 0 and stats._timer is None  # nothing counted: no timer, no write
    stats.record("inquba", "event", 200, 0.01, ms(datetime.now(UTC)))
    assert stats._timer is not None
    for _ in range(60):
        await asyncio.sleep(0.1)
        if not stats.unflushed:
            break
    assert not stats.unflushed and stats.writes == 1
    await stats.close()
    assert stats.writes == 1  # closing with nothing left writes nothing


async def test_a_flush_cancelled_mid_write_leaves_its_counts_to_the_closing_flush(table: TableClient) -> None:
    stats = DeliveryStats(table, process_id="p")
    for minute in (0, 70):  # two hours: two merges in one flush
        stats.record("inquba", "event", 200, 0.01, ms(HOUR + timedelta(minutes=minute)))
    flushing = asyncio.create_task(stats.flush())
    await asyncio.sleep(0)  # the flush has taken the counts and is in its first merge
    flushing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flushing
    assert stats._failed and not stats._pending  # taken by the flush, handed back when it was cancelled
    await stats.close()
    body = await query_stats(table, StatsQuery(HOUR, HOUR + timedelta(hours=2), "1h"))
    assert _totals(body)[("inquba", "event")]["count"] == 2
