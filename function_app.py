"""Azure Functions triggers (Python v2 model). Each one parses, calls one function of `shared`, shapes the answer."""

from __future__ import annotations

import logging
import os

import azure.functions as func

from shared import inquba_http
from shared.app_context import get_context
from shared.health import storage_health
from shared.http_responses import http_endpoint, json_response
from shared.inquba_models import EventRequest, TransactionRequest
from shared.outbound_log import OutboundLogEntry
from shared.settings import SettingsError, load_settings

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

try:  # say every settings problem once at start-up; routes then answer 503 naming them
    load_settings(os.environ)
except SettingsError as exc:
    logging.getLogger(__name__).error("%s", exc)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def health(req: func.HttpRequest) -> func.HttpResponse:
    report = await storage_health((await get_context()).storage)
    return json_response(report, status=200 if report["status"] == "healthy" else 503)


@app.route(route="inquba/token", methods=["POST"])
@http_endpoint
async def inquba_token(req: func.HttpRequest) -> func.HttpResponse:
    return await inquba_http.token(await get_context(), req)


@app.route(route="inquba/events", methods=["POST"])
@http_endpoint
async def inquba_publish_event(req: func.HttpRequest) -> func.HttpResponse:
    return await inquba_http.publish(await get_context(), req, EventRequest)


@app.route(route="inquba/transactions", methods=["POST"])
@http_endpoint
async def inquba_publish_transaction(req: func.HttpRequest) -> func.HttpResponse:
    return await inquba_http.publish(await get_context(), req, TransactionRequest)


@app.queue_trigger(arg_name="msg", queue_name="%OUTBOUND_LOG_RETRY_QUEUE%", connection="AzureWebJobsStorage")
async def outbound_log_retry(msg: func.QueueMessage) -> None:
    """Writes log entries whose first write failed; a failure here is retried by the host, then poisoned."""
    entry = OutboundLogEntry.from_json(msg.get_body().decode("utf-8"))
    await (await get_context()).outbound_log.write(entry)
