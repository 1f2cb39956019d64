"""Turn `app.get_functions()` metadata into what the runner dispatches on."""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import local_runner.keys as keys
from local_runner.errors import StartupError
from local_runner.settings import is_true, resolve_expressions
from local_runner.timers import Schedule, parse_schedule

log = logging.getLogger("local_runner.functions")

HTTP_TRIGGER = "httpTrigger"
QUEUE_TRIGGER = "queueTrigger"
TIMER_TRIGGER = "timerTrigger"
SUPPORTED_TRIGGERS = (HTTP_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER)
DEFAULT_CONNECTION = "AzureWebJobsStorage"
CONTEXT_PARAMETER = "context"
POISON_SUFFIX = "-poison"
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")

_functions_cache: WeakKeyDictionary[Any, list[Any]] = WeakKeyDictionary()


def get_functions_once(app: Any) -> list[Any]:
    """`app.get_functions()`, called once per app object (a second call raises in azure-functions 1.26)."""
    try:
        return _functions_cache[app]
    except KeyError:
        pass
    functions = list(app.get_functions())
    _functions_cache[app] = functions
    return functions


@dataclass(frozen=True)
class HttpTriggerInfo:
    route: str
    methods: tuple[str, ...] | None  # None: every method
    auth_level: str


@dataclass(frozen=True)
class QueueTriggerInfo:
    queue_name: str
    connection: str

    @property
    def poison_queue_name(self) -> str | None:
        """`<queue>-poison`, unless the queue is a poison queue or the name would be too long."""
        name = self.queue_name + POISON_SUFFIX
        if self.queue_name.endswith(POISON_SUFFIX) or not _QUEUE_NAME.match(name):
            return None
        return name


@dataclass(frozen=True)
class TimerTriggerInfo:
    schedule: Schedule
    run_on_startup: bool


TriggerInfo = HttpTriggerInfo | QueueTriggerInfo | TimerTriggerInfo


@dataclass(frozen=True)
class FunctionDef:
    name: str
    func: Callable[..., Any]
    trigger_param: str
    trigger_type: str
    trigger: TriggerInfo
    wants_context: bool
    is_async: bool
    directory: str

    def describe(self) -> str:
        trigger = self.trigger
        if isinstance(trigger, HttpTriggerInfo):
            methods = ",".join(trigger.methods) if trigger.methods else "ALL"
            return f"httpTrigger [{methods}] route '{trigger.route}' (authLevel {trigger.auth_level})"
        if isinstance(trigger, QueueTriggerInfo):
            return f"queueTrigger queue '{trigger.queue_name}' (connection {trigger.connection})"
        return f"timerTrigger schedule '{trigger.schedule}'" + (" runOnStartup" if trigger.run_on_startup else "")


def _value(obj: object) -> str:
    return str(getattr(obj, "value", obj))


def validate_queue_name(name: str, function_name: str) -> str:
    normalized = name.lower()  # the host lower-cases queue names before validating them
    if not _QUEUE_NAME.match(normalized):
        raise StartupError(
            f"function '{function_name}': invalid queue name '{name}' (3-63 characters: lowercase letters, "
            "digits and single dashes, starting and ending with a letter or digit)")
    return normalized


def _signature_info(function_name: str, func: Callable[..., Any], trigger_param: str) -> bool:
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError) as exc:
        raise StartupError(f"function '{function_name}': cannot inspect its signature: {exc}") from exc
    if trigger_param not in parameters:
        raise StartupError(f"function '{function_name}': its trigger binding is named '{trigger_param}' but the "
                           f"Python function has no parameter of that name")
    for name, parameter in parameters.items():
        if name in (trigger_param, CONTEXT_PARAMETER):
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is parameter.empty:
            raise StartupError(f"function '{function_name}': parameter '{name}' has no binding the local runner "
                               "can supply")
    return CONTEXT_PARAMETER in parameters


def _check_bindings(function_name: str, function: Any, trigger: Any, is_http: bool) -> None:
    for binding in function.get_bindings():
        if binding is trigger:
            continue
        binding_type = binding.get_binding_name()
        if is_http and binding_type == "http" and binding.name == "$return":
            continue
        raise StartupError(
            f"function '{function_name}': binding '{binding.name}' of type '{binding_type}' is not supported "
            "by the local runner (only the trigger and the HTTP '$return' output are)")


def _timezone(settings: Mapping[str, str]) -> tzinfo:
    name = settings.get("WEBSITE_TIME_ZONE") or settings.get("TZ")
    if not name:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StartupError(f"WEBSITE_TIME_ZONE/TZ '{name}' is not a known IANA time zone") from exc


def build_function_defs(
    functions: Iterable[Any],
    settings: Mapping[str, str],
    *,
    app_dir: Path | str,
    only: Iterable[str] | None = None,
) -> list[FunctionDef]:
    """Validate every function and return those that run (not disabled, in `only` when given)."""
    wanted = None if only is None else {name.lower() for name in only}
    defs: list[FunctionDef] = []
    seen: set[str] = set()
    for function in functions:
        name = function.get_function_name()
        if name.lower() in seen:
            raise StartupError(f"two functions are named '{name}'")
        seen.add(name.lower())
        if wanted is not None and name.lower() not in wanted:
            log.info("function %s is not listed in 'functions' and will not run", name)
            continue
        if is_true(settings.get(f"AzureWebJobs.{name}.Disabled")):
            log.info("function %s is disabled (AzureWebJobs.%s.Disabled)", name, name)
            continue
        defs.append(_build_one(function, name, settings, app_dir))
    return defs


def _build_one(function: Any, name: str, settings: Mapping[str, str], app_dir: Path | str) -> FunctionDef:
    trigger = function.get_trigger()
    if trigger is None:
        raise StartupError(f"function '{name}' has no trigger")
    trigger_type = trigger.get_binding_name()
    if trigger_type not in SUPPORTED_TRIGGERS:
        raise StartupError(f"function '{name}' uses a '{trigger_type}' trigger, which the local runner does not "
                           f"support (supported: {', '.join(SUPPORTED_TRIGGERS)})")
    _check_bindings(name, function, trigger, trigger_type == HTTP_TRIGGER)
    func = function.get_user_function()
    wants_context = _signature_info(name, func, trigger.name)
    info: TriggerInfo
    if trigger_type == HTTP_TRIGGER:
        methods = None if not trigger.methods else tuple(dict.fromkeys(_value(m).upper() for m in trigger.methods))
        try:
            level = keys.normalize_level(trigger.auth_level)
        except ValueError as exc:
            raise StartupError(f"function '{name}': {exc}") from exc
        info = HttpTriggerInfo(trigger.route if trigger.route is not None else name, methods, level)
    elif trigger_type == QUEUE_TRIGGER:
        queue = resolve_expressions(trigger.queue_name, settings, what=f"function '{name}' queue name")
        connection = (trigger.connection or "").strip() or DEFAULT_CONNECTION
        info = QueueTriggerInfo(validate_queue_name(queue, name), connection)
    else:
        expression = resolve_expressions(trigger.schedule, settings, what=f"function '{name}' schedule")
        try:
            schedule = parse_schedule(expression, _timezone(settings))
        except ValueError as exc:
            raise StartupError(f"function '{name}': {exc}") from exc
        info = TimerTriggerInfo(schedule, bool(trigger.run_on_startup))
    if function.get_setting("retry_policy") is not None:
        log.warning("function %s: retry policies are not applied by the local runner", name)
    script = getattr(function, "function_script_file", None)
    directory = os.path.dirname(os.path.abspath(script)) if script else str(Path(app_dir).resolve())
    return FunctionDef(name, func, trigger.name, trigger_type, info, wants_context,
                       inspect.iscoroutinefunction(func), directory)
