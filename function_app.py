"""Azure Functions triggers (Python v2 model). Each one imports and calls one function of `shared`."""

from __future__ import annotations

import logging
import os

import azure.functions as func

from shared.function_app_base import FunctionApp
from shared.operations.access import auth_level, operations_route
from shared.settings import SettingsError, load_settings, operations_access
from shared.telemetry import configure_telemetry, quiet_library_loggers
from shared.web.responses import http_endpoint, json_response

# Each trigger imports the rest of `shared` inside its body. The worker indexes this file on every cold start by
# reading every top-level name (azure_functions_worker/loader.py), so only these light modules are loaded then;
# the storage SDKs, httpx, pydantic and jsonschema are loaded by the first trigger that needs them.

app = FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
configure_telemetry(os.environ)
quiet_library_loggers()

try:  # say every settings problem once at start-up; routes then answer 503 naming them
    load_settings(os.environ)
except SettingsError as exc:
    logging.getLogger(__name__).error("%s", exc)

# The operations page's routes: function-key routes, or with OPERATIONS_AUTH=entra anonymous to the host and
# opened by the App Service Authentication principal's group (shared/operations/access.py, docs/operations.md).
OPERATIONS_ACCESS = operations_access(os.environ)
OPERATIONS_AUTH_LEVEL = auth_level(OPERATIONS_ACCESS)
operations = operations_route(OPERATIONS_ACCESS)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.health import storage_health

    report = await storage_health((await get_context()).storage)
    return json_response(report, status=200 if report["status"] == "healthy" else 503)


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI document of these routes (shared/web/openapi.py; exported to docs/openapi.json)."""
    from shared.web import openapi

    return func.HttpResponse(openapi.openapi_json(app), mimetype="application/json", charset="utf-8")


@app.route(route="inquba/token", methods=["POST"])
@http_endpoint
async def inquba_token(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.inquba import routes as inquba_http

    return await inquba_http.token(await get_context(), req)


@app.route(route="inquba/events", methods=["POST"])
@http_endpoint
async def inquba_publish_event(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.inquba import routes as inquba_http

    return await inquba_http.publish(await get_context(), req, "event")


@app.route(route="inquba/transactions", methods=["POST"])
@http_endpoint
async def inquba_publish_transaction(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.inquba import routes as inquba_http

    return await inquba_http.publish(await get_context(), req, "transaction")


@app.route(route="inquba/events/batch", methods=["POST"])
@http_endpoint
async def inquba_event_batch(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.delivery import routes as batch_http

    return await batch_http.submit(await get_context(), req, "event")


@app.route(route="inquba/transactions/batch", methods=["POST"])
@http_endpoint
async def inquba_transaction_batch(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.delivery import routes as batch_http

    return await batch_http.submit(await get_context(), req, "transaction")


@app.route(route="requests/{requestId}", methods=["GET"])
@http_endpoint
async def request_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.delivery import routes as batch_http

    return await batch_http.status(await get_context(), req, req.route_params["requestId"])


@app.route(route="requests/{batchId}/replay", methods=["POST"])
@http_endpoint
async def request_replay(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.delivery import routes as batch_http

    return await batch_http.replay_failed(await get_context(), req, req.route_params["batchId"])


@app.queue_trigger(arg_name="msg", queue_name="%INQUBA_EVENTS_QUEUE%", connection="AzureWebJobsStorage")
async def inquba_events_queue(msg: func.QueueMessage) -> None:
    from shared.app_context import get_context
    from shared.inquba import queue as inquba_queue

    await inquba_queue.process_message(await get_context(), msg.get_body().decode("utf-8"), "event",
                                       dequeue_count=msg.dequeue_count)


@app.queue_trigger(arg_name="msg", queue_name="%INQUBA_TRANSACTIONS_QUEUE%", connection="AzureWebJobsStorage")
async def inquba_transactions_queue(msg: func.QueueMessage) -> None:
    from shared.app_context import get_context
    from shared.inquba import queue as inquba_queue

    await inquba_queue.process_message(await get_context(), msg.get_body().decode("utf-8"), "transaction",
                                       dequeue_count=msg.dequeue_count)


@app.route(route="insider/mapping", methods=["GET", "PUT"])
@http_endpoint
async def insider_mapping(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.insider import routes as insider_http

    ctx = await get_context()
    if req.method == "GET":
        return await insider_http.get_mapping(ctx)
    return await insider_http.put_mapping(ctx, req)


@app.route(route="insider/mapping/preview", methods=["POST"])
@http_endpoint
async def insider_mapping_preview(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.insider import routes as insider_http

    return await insider_http.preview(await get_context(), req)


@app.route(route="insider/sync", methods=["POST"])
@http_endpoint
async def insider_sync(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.insider import routes as insider_http

    return await insider_http.sync(await get_context(), req)


@app.route(route="insider/resume", methods=["POST"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def insider_resume(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.insider import routes as insider_http

    return await insider_http.resume(await get_context())


@app.route(route="insider/erase", methods=["POST"])
@http_endpoint
async def insider_erase(req: func.HttpRequest) -> func.HttpResponse:
    """Erase customers at Insider (delete or anonymise) and the app's own copies of them."""
    from shared.app_context import get_context
    from shared.insider import user_routes

    return await user_routes.erase(await get_context(), req)


@app.route(route="insider/attributes/delete", methods=["POST"])
@http_endpoint
async def insider_attributes_delete(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.insider import user_routes

    return await user_routes.delete_attributes(await get_context(), req)


# An operations route: the logs page's "Show Insider profile" calls it.
@app.route(route="insider/profile", methods=["POST"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def insider_profile(req: func.HttpRequest) -> func.HttpResponse:
    """What Insider holds for one customer: a support person's check of a sync."""
    from shared.app_context import get_context
    from shared.insider import user_routes

    return await user_routes.profile(await get_context(), req)


@app.queue_trigger(arg_name="msg", queue_name="%INSIDER_SYNC_QUEUE%", connection="AzureWebJobsStorage")
async def insider_sync_queue(msg: func.QueueMessage) -> None:
    """Settles its message together with the others waiting, in upserts of up to 1,000 users (insider/drain.py);
    erase and delete-attributes messages too (docs/queues.md)."""
    from shared.app_context import get_context
    from shared.insider import drain as insider_queue

    await insider_queue.process_message(await get_context(), msg.get_body().decode("utf-8"))


@app.route(route="insider/mapping/schema", methods=["GET"])
@http_endpoint
async def insider_mapping_schema(req: func.HttpRequest) -> func.HttpResponse:
    """The customer fields the stored mapping reads, as JSON schemas: the connector's dynamic schema."""
    from shared.app_context import get_context
    from shared.insider import routes as insider_http

    return await insider_http.source_fields(await get_context())


@app.queue_trigger(arg_name="msg", queue_name="%OUTBOUND_LOG_RETRY_QUEUE%", connection="AzureWebJobsStorage")
async def outbound_log_retry(msg: func.QueueMessage) -> None:
    """Writes log entries whose first write failed; a failure here is retried by the host, then poisoned."""
    from shared.app_context import get_context
    from shared.outbound_log.writer import OutboundLogEntry

    entry = OutboundLogEntry.from_json(msg.get_body().decode("utf-8"))
    await (await get_context()).outbound_log.write(entry)


# --- Outbound log: list, entry, page (docs/outbound-logs.md) and retention ---------------------------------


@app.route(route="outbound-logs", methods=["GET"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def outbound_logs_list(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.outbound_log import routes as outbound_log_http

    return await outbound_log_http.list_entries(await get_context(), req)


# Azure tries overlapping routes in function-name order (azure-functions-host#9876): outbound_log_page sorts
# before outbound_log_read, so "page" is never taken for an {id}.
@app.route(route="outbound-logs/page", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def outbound_log_page(req: func.HttpRequest) -> func.HttpResponse:
    """Static HTML holding no data: it calls the two routes above with the function key (or the Entra sign-in)."""
    from shared.outbound_log import routes as outbound_log_http

    return outbound_log_http.page(OPERATIONS_ACCESS.mode)


@app.route(route="outbound-logs/{id}", methods=["GET"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def outbound_log_read(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.outbound_log import routes as outbound_log_http

    return await outbound_log_http.get_entry(await get_context(), req, req.route_params["id"])


# Hourly, at minute 17.
@app.timer_trigger(arg_name="timer", schedule="0 17 * * * *", run_on_startup=False)
async def outbound_log_retention_timer(timer: func.TimerRequest) -> None:
    """Deletes entries older than OUTBOUND_LOG_RETENTION_DAYS, a bounded batch per run."""
    from shared.app_context import get_context
    from shared.outbound_log import retention as outbound_log_retention

    await outbound_log_retention.run(await get_context())


# --- Operations: statistics, overview, dead letters, the operations page (docs/operations.md) ------------------


@app.route(route="stats", methods=["GET"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def delivery_stats(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.operations import routes as operations_http

    return await operations_http.stats(await get_context(), req)


@app.route(route="operations/overview", methods=["GET"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def operations_overview(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.operations import routes as operations_http

    return await operations_http.overview(await get_context())


@app.route(route="operations/page", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def operations_page(req: func.HttpRequest) -> func.HttpResponse:
    """Static HTML holding no data: Overview and Dead letters; it links the outbound log page."""
    from shared.operations import routes as operations_http

    return operations_http.page(OPERATIONS_ACCESS.mode)


@app.route(route="dead-letters", methods=["GET"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def dead_letters_list(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.operations import routes as operations_http

    return await operations_http.list_dead_letters(await get_context(), req)


@app.route(route="dead-letters/replay", methods=["POST"], auth_level=OPERATIONS_AUTH_LEVEL)
@http_endpoint
@operations
async def dead_letters_replay(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app_context import get_context
    from shared.operations import routes as operations_http

    return await operations_http.replay_dead_letters(await get_context(), req)


# Daily, at 03:47 UTC.
@app.timer_trigger(arg_name="timer", schedule="0 47 3 * * *", run_on_startup=False)
async def operations_retention_timer(timer: func.TimerRequest) -> None:
    """Deletes hourly rollups after 35 days and dead-letter records after 30."""
    from shared.app_context import get_context
    from shared.operations import retention as operations_retention

    await operations_retention.run(await get_context())
