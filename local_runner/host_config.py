"""`host.json`: the parts the local runner honours, with the host's defaults."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from local_runner.errors import StartupError

HOST_FILE = "host.json"
MAX_BATCH_SIZE = 32
MIN_POLLING_INTERVAL = timedelta(milliseconds=100)
# Core Tools uses 2 s instead of the hosted default of 1 min.
LOCAL_DEFAULT_MAX_POLLING_INTERVAL = timedelta(seconds=2)
# Flex Consumption counts as one processor for the newBatchThreshold default.
PROCESSOR_COUNT = 1

_TIMESPAN = re.compile(
    r"^(?P<neg>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?$"
)


def parse_timespan(text: str) -> timedelta:
    """Parse a .NET TimeSpan (`[d.]hh:mm[:ss[.fffffff]]`), e.g. `00:00:02` or `00:00:00.200`."""
    if not isinstance(text, str):
        raise ValueError(f"expected a TimeSpan string like '00:00:02', got {text!r}")
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(f"invalid TimeSpan {text!r}: expected [d.]hh:mm:ss[.fffffff]")
    hours, minutes = int(match["hours"]), int(match["minutes"])
    seconds = int(match["seconds"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"invalid TimeSpan {text!r}: hours, minutes or seconds out of range")
    fraction = match["fraction"] or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    value = timedelta(days=int(match["days"] or 0), hours=hours, minutes=minutes, seconds=seconds,
                      microseconds=micro)
    return -value if match["neg"] else value


class QueueEncoding:
    BASE64 = "base64"
    NONE = "none"


@dataclass(frozen=True)
class QueuesOptions:
    """`extensions.queues` (Microsoft.Azure.WebJobs.Extensions.Storage.Queues `QueuesOptions`)."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = LOCAL_DEFAULT_MAX_POLLING_INTERVAL
    message_encoding: str = QueueEncoding.BASE64

    @property
    def max_in_flight(self) -> int:
        return self.batch_size + self.new_batch_threshold


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueuesOptions = field(default_factory=QueuesOptions)
    functions: tuple[str, ...] | None = None  # host.json "functions": only these run
    function_timeout: timedelta | None = None  # parsed, not enforced


def _section(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    current: Any = data
    for key in keys:
        current = _get_ci(current, key) if isinstance(current, dict) else None
        if current is None:
            return {}
    if not isinstance(current, dict):
        raise StartupError(f"{HOST_FILE}: '{'.'.join(keys)}' must be an object")
    return current


def _get_ci(data: dict[str, Any], key: str) -> Any:
    """The host binds configuration case-insensitively."""
    for name, value in data.items():
        if name.lower() == key.lower():
            return value
    return None


def _int(section: dict[str, Any], key: str, default: int, minimum: int, maximum: int | None = None) -> int:
    value = _get_ci(section, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise StartupError(f"{HOST_FILE}: extensions.queues.{key} must be an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise StartupError(f"{HOST_FILE}: extensions.queues.{key} must be an integer, got {value!r}") from exc
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise StartupError(f"{HOST_FILE}: extensions.queues.{key} must be {bound}, got {number}")
    return number


def _timespan(section: dict[str, Any], key: str, default: timedelta, where: str) -> timedelta:
    value = _get_ci(section, key)
    if value is None:
        return default
    try:
        return parse_timespan(value)
    except ValueError as exc:
        raise StartupError(f"{HOST_FILE}: {where}.{key}: {exc}") from exc


def parse_queues_options(section: dict[str, Any]) -> QueuesOptions:
    batch_size = _int(section, "batchSize", 16, 1, MAX_BATCH_SIZE)
    threshold = _int(section, "newBatchThreshold", (batch_size // 2) * PROCESSOR_COUNT, 0)
    max_dequeue = _int(section, "maxDequeueCount", 5, 1)
    visibility = _timespan(section, "visibilityTimeout", timedelta(0), "extensions.queues")
    if visibility < timedelta(0):
        raise StartupError(f"{HOST_FILE}: extensions.queues.visibilityTimeout must not be negative")
    polling = _timespan(section, "maxPollingInterval", LOCAL_DEFAULT_MAX_POLLING_INTERVAL, "extensions.queues")
    if polling < MIN_POLLING_INTERVAL:
        raise StartupError(f"{HOST_FILE}: extensions.queues.maxPollingInterval must not be less than 00:00:00.100")
    encoding = _get_ci(section, "messageEncoding")
    encoding = QueueEncoding.BASE64 if encoding is None else str(encoding).strip().lower()
    if encoding not in (QueueEncoding.BASE64, QueueEncoding.NONE):
        raise StartupError(f"{HOST_FILE}: extensions.queues.messageEncoding must be 'base64' or 'none'")
    return QueuesOptions(batch_size, threshold, max_dequeue, visibility, polling, encoding)


def parse_host_config(data: dict[str, Any]) -> HostConfig:
    if not isinstance(data, dict):
        raise StartupError(f"{HOST_FILE} must contain a JSON object")
    http = _section(data, "extensions", "http")
    prefix = _get_ci(http, "routePrefix")
    prefix = "api" if prefix is None else str(prefix).strip("/")
    functions = _get_ci(data, "functions")
    if functions is not None and not (isinstance(functions, list) and all(isinstance(f, str) for f in functions)):
        raise StartupError(f"{HOST_FILE}: 'functions' must be a list of function names")
    timeout = _get_ci(data, "functionTimeout")
    try:
        function_timeout = None if timeout is None else parse_timespan(timeout)
    except ValueError as exc:
        raise StartupError(f"{HOST_FILE}: functionTimeout: {exc}") from exc
    return HostConfig(
        route_prefix=prefix,
        queues=parse_queues_options(_section(data, "extensions", "queues")),
        functions=None if functions is None else tuple(functions),
        function_timeout=function_timeout,
    )


def load_host_config(app_dir: Path | str) -> HostConfig:
    """Read `host.json` from `app_dir`; the defaults when it is absent."""
    path = Path(app_dir) / HOST_FILE
    if not path.is_file():
        return HostConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise StartupError(f"cannot read {path}: {exc}") from exc
    return parse_host_config(data)
