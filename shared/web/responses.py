"""Shaping function results into HTTP responses: JSON, problem+json, and the guard every route wears."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import azure.functions as func

from shared.settings import SettingsError, UpstreamNotConfigured
from shared.web.problems import PROBLEM_MEDIA_TYPE, Problem

if TYPE_CHECKING:  # pydantic is imported by the models; this module is imported at start-up
    from pydantic import BaseModel

logger = logging.getLogger(__name__)

POLL_AFTER_SECONDS = 5


def status_location(req: func.HttpRequest, request_id: str) -> str:
    """The absolute URL of `/api/requests/{id}` on the scheme and host the caller used.

    Logic Apps' HTTP action and the Azure SDK pollers follow a 202's Location and expect it absolute; behind
    Azure's front ends the request URL carries the app's public host name. `?code=` is added only when the
    caller itself put the key in its URL: a key sent in a header never comes back in a response.
    """
    scheme, netloc, *_ = urlsplit(req.url)
    code = req.params.get("code")
    query = f"code={quote(code, safe='')}" if code else ""
    return urlunsplit((scheme, netloc, f"/api/requests/{quote(request_id, safe='')}", query, ""))


def accepted_headers(req: func.HttpRequest, request_id: str) -> dict[str, str]:
    """`Location` and `Retry-After` of a 202: where and when to poll the request's status."""
    return {"Location": status_location(req, request_id), "Retry-After": str(POLL_AFTER_SECONDS)}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, default=_default),
        status_code=status,
        headers=headers or {},
        mimetype="application/json",
        charset="utf-8",
    )


def model_response(
    model: type[BaseModel], body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """`body` (keys as on the wire) checked against its documented model and answered as JSON.

    Only the keys given are answered (`exclude_unset`), so an optional key stays absent rather than null.
    """
    shaped = model.model_validate(body).model_dump(mode="json", by_alias=True, exclude_unset=True)
    return json_response(shaped, status=status, headers=headers)


def problem_response(problem: Problem) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(problem.body(), ensure_ascii=False, default=_default),
        status_code=problem.status,
        headers=problem.headers,
        mimetype=PROBLEM_MEDIA_TYPE,
        charset="utf-8",
    )


Handler = Callable[..., Awaitable[func.HttpResponse]]
STORAGE_RETRY_AFTER_SECONDS = 5


def storage_unavailable(exc: BaseException) -> bool:
    """A storage call that could not be made or that the service answered with a 5xx: worth retrying."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 500


def http_endpoint(handler: Handler) -> Handler:
    """Answer a `Problem` as problem+json, configuration errors and storage outages as 503, and anything
    else as a bare 500."""

    @functools.wraps(handler)
    async def guarded(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except Problem as problem:
            return problem_response(problem)
        except UpstreamNotConfigured as exc:
            return problem_response(Problem(503, "Service Unavailable", exc.problems[0],
                                            extra={"settings": exc.problems}))
        except SettingsError as exc:
            return problem_response(Problem(503, "Service Unavailable", "the app is not configured",
                                            extra={"settings": exc.problems}))
        except Exception as exc:
            if storage_unavailable(exc):
                logger.warning("storage unavailable in %s: %s", handler.__name__, type(exc).__name__)
                return problem_response(Problem(
                    503, "Service Unavailable", "Azure Storage is unavailable: try again later",
                    headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)}))
            logger.exception("unhandled error in %s", handler.__name__)
            return problem_response(Problem(500, "Internal Server Error", "an unexpected error occurred"))

    return guarded
