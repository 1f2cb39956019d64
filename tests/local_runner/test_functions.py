"""Start-up validation from app metadata (no storage needed)."""

from __future__ import annotations

from types import ModuleType

import azure.functions as func
import pytest

from local_runner.errors import StartupError
from local_runner.functions import QueueTriggerInfo, build_function_defs, get_functions_once
from local_runner.host import LocalHost

from .conftest import SAMPLE_APP_DIR

SETTINGS = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "Q": "Jobs"}


def defs(app: func.FunctionApp, settings: dict[str, str] | None = None) -> list:
    return build_function_defs(get_functions_once(app), SETTINGS if settings is None else settings, app_dir=".")


def test_unsupported_trigger_names_function_and_type() -> None:
    app = func.FunctionApp()

    @app.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
    def on_blob(blob: func.InputStream) -> None: ...

    with pytest.raises(StartupError, match=r"'on_blob'.*'blobTrigger'"):
        defs(app)


def test_output_bindings_are_rejected() -> None:
    app = func.FunctionApp()

    @app.route(route="enqueue", auth_level=func.AuthLevel.ANONYMOUS)
    @app.queue_output(arg_name="out", queue_name="jobs", connection="AzureWebJobsStorage")
    def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse: ...

    with pytest.raises(StartupError, match=r"'enqueue'.*'out'.*'queue'"):
        defs(app)


def test_queue_name_expression_is_resolved_and_lowercased() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="%Q%", connection="")
    def worker(msg: func.QueueMessage) -> None: ...

    (only,) = defs(app)
    assert only.trigger == QueueTriggerInfo("jobs", "AzureWebJobsStorage")
    assert only.trigger.poison_queue_name == "jobs-poison"
    assert QueueTriggerInfo("jobs-poison", "c").poison_queue_name is None


def test_missing_setting_in_expression_is_a_startup_error() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="%NOT_SET%", connection="AzureWebJobsStorage")
    def worker(msg: func.QueueMessage) -> None: ...

    with pytest.raises(StartupError, match="NOT_SET"):
        defs(app)


def test_invalid_schedule_is_a_startup_error() -> None:
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="t", schedule="*/5 * * * *")
    def five_fields(t: func.TimerRequest) -> None: ...

    with pytest.raises(StartupError, match="five_fields"):
        defs(app)


def test_disabled_setting_skips_function() -> None:
    app = func.FunctionApp()

    @app.route(route="a", auth_level=func.AuthLevel.ANONYMOUS)
    def a(req: func.HttpRequest) -> str: ...

    @app.route(route="b", auth_level=func.AuthLevel.ANONYMOUS)
    def b(req: func.HttpRequest) -> str: ...

    names = [d.name for d in defs(app, {"AzureWebJobs.a.Disabled": "true"})]
    assert names == ["b"]


def test_same_route_and_method_twice_is_a_startup_error() -> None:
    app = func.FunctionApp()

    @app.route(route="things/{id}", methods=["GET"])
    def first(req: func.HttpRequest) -> str: ...

    @app.route(route="Things/{key}", methods=["GET", "POST"])
    def second(req: func.HttpRequest) -> str: ...

    with pytest.raises(StartupError, match="'first' and 'second'"):
        LocalHost(app, settings={}, port=0)


def test_same_route_different_methods_is_fine() -> None:
    app = func.FunctionApp()

    @app.route(route="things", methods=["GET"])
    def list_things(req: func.HttpRequest) -> str: ...

    @app.route(route="things", methods=["POST"])
    def add_thing(req: func.HttpRequest) -> str: ...

    assert [f.name for f in LocalHost(app, settings={}, port=0).functions] == ["list_things", "add_thing"]


def test_missing_connection_is_a_startup_error() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="jobs", connection="OtherStorage")
    def worker(msg: func.QueueMessage) -> None: ...

    with pytest.raises(StartupError, match="OtherStorage"):
        LocalHost(app, settings={}, port=0)


def test_get_functions_is_called_once_per_app(sample: ModuleType) -> None:
    settings = {**SETTINGS, "OK_QUEUE": "a-q", "FAIL_QUEUE": "b-q", "SLOW_QUEUE": "c-q", "TICK_SCHEDULE": "0 0 * * * *"}
    first = LocalHost(sample.app, app_dir=SAMPLE_APP_DIR, settings=settings, port=0)
    second = LocalHost(sample.app, app_dir=SAMPLE_APP_DIR, settings=settings, port=0, functions=["hello"])
    assert len(first.functions) > len(second.functions) == 1


def test_azure_route_order_warning(sample: ModuleType) -> None:
    host = LocalHost(sample.app, app_dir=SAMPLE_APP_DIR, settings={}, port=0, functions=["get_log", "page_of_logs"])
    (warning,) = host.route_warnings
    assert "'page_of_logs'" in warning and "would call 'get_log'" in warning
