"""host.json and local.settings.json parsing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from local_runner.errors import StartupError
from local_runner.host_config import HostConfig, QueuesOptions, load_host_config, parse_host_config, parse_timespan
from local_runner.settings import apply_local_settings, resolve_expressions


@pytest.mark.parametrize(("text", "expected"), [
    ("00:00:00", timedelta(0)),
    ("00:00:02", timedelta(seconds=2)),
    ("00:00:00.200", timedelta(milliseconds=200)),
    ("00:00:00.1", timedelta(milliseconds=100)),
    ("00:00:00.1234567", timedelta(microseconds=123456)),
    ("01:30", timedelta(hours=1, minutes=30)),
    ("1.02:00:00", timedelta(days=1, hours=2)),
    ("00:10:00", timedelta(minutes=10)),
])
def test_parse_timespan(text: str, expected: timedelta) -> None:
    assert parse_timespan(text) == expected


@pytest.mark.parametrize("text", ["2000", "00:60:00", "abc", "00:00:00.12345678", ""])
def test_parse_timespan_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timespan(text)


def test_defaults() -> None:
    config = parse_host_config({"version": "2.0"})
    assert config == HostConfig()
    assert config.route_prefix == "api"
    assert config.queues == QueuesOptions(batch_size=16, new_batch_threshold=8, max_dequeue_count=5,
                                          visibility_timeout=timedelta(0), max_polling_interval=timedelta(seconds=2),
                                          message_encoding="base64")


def test_queue_settings() -> None:
    config = parse_host_config({"extensions": {
        "http": {"routePrefix": ""},
        "queues": {"batchSize": 4, "maxDequeueCount": 2, "visibilityTimeout": "00:00:30",
                   "maxPollingInterval": "00:00:00.200", "messageEncoding": "None"}}})
    assert config.route_prefix == ""
    queues = config.queues
    assert (queues.batch_size, queues.new_batch_threshold, queues.max_in_flight) == (4, 2, 6)
    assert queues.max_dequeue_count == 2
    assert queues.visibility_timeout == timedelta(seconds=30)
    assert queues.max_polling_interval == timedelta(milliseconds=200)
    assert queues.message_encoding == "none"
    assert parse_host_config({"extensions": {"queues": {"batchSize": 1}}}).queues.new_batch_threshold == 0
    assert parse_host_config({"extensions": {"queues": {"newBatchThreshold": 3}}}).queues.new_batch_threshold == 3


@pytest.mark.parametrize("queues", [
    {"batchSize": 33}, {"batchSize": 0}, {"maxDequeueCount": 0}, {"maxPollingInterval": "00:00:00.050"},
    {"visibilityTimeout": "soon"}, {"messageEncoding": "utf8"}, {"batchSize": "many"},
])
def test_invalid_queue_settings(queues: dict[str, object]) -> None:
    with pytest.raises(StartupError):
        parse_host_config({"extensions": {"queues": queues}})


def test_functions_list_and_timeout() -> None:
    config = parse_host_config({"functions": ["a", "b"], "functionTimeout": "00:05:00"})
    assert config.functions == ("a", "b")
    assert config.function_timeout == timedelta(minutes=5)


def test_load_host_config(tmp_path: Path) -> None:
    assert load_host_config(tmp_path) == HostConfig()
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"queues": {"batchSize": 2}}}))
    assert load_host_config(tmp_path).queues.batch_size == 2
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(StartupError):
        load_host_config(tmp_path)


def test_local_settings_do_not_override_environment(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file", "N": 3}}))
    environ = {"A": "from-env"}
    applied = apply_local_settings(tmp_path, environ)
    assert environ == {"A": "from-env", "B": "from-file", "N": "3"}
    assert sorted(applied) == ["B", "N"]
    assert apply_local_settings(tmp_path / "missing", environ) == []


def test_resolve_expressions() -> None:
    settings = {"Q": "jobs", "ENV": "dev"}
    assert resolve_expressions("%Q%", settings, what="x") == "jobs"
    assert resolve_expressions("%Q%-%ENV%", settings, what="x") == "jobs-dev"
    assert resolve_expressions("plain", settings, what="x") == "plain"
    with pytest.raises(StartupError, match="'MISSING'"):
        resolve_expressions("%MISSING%", settings, what="x")
