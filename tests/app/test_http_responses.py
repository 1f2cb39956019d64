"""The guard every route wears: what each kind of failure answers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import azure.functions as func
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

from shared.settings import UpstreamNotConfigured
from shared.web.problems import PROBLEM_MEDIA_TYPE
from shared.web.responses import accepted_headers, http_endpoint, status_location


def guarded(exc: Exception) -> Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]:
    """A route that fails with `exc`, wearing the guard."""

    @http_endpoint
    async def route(req: func.HttpRequest) -> func.HttpResponse:
        raise exc

    return route


def request() -> func.HttpRequest:
    return func.HttpRequest(method="GET", url="http://localhost/api/x", body=b"")


class StorageAnswered(HttpResponseError):
    def __init__(self, status: int) -> None:
        super().__init__(message=f"storage answered {status}")
        self.status_code = status


async def test_storage_out_of_reach_or_failing_answers_503_with_retry_after() -> None:
    for exc in (ServiceRequestError("connection refused"), StorageAnswered(503), StorageAnswered(500)):
        response = await guarded(exc)(request())
        assert response.status_code == 503, exc
        assert response.mimetype == PROBLEM_MEDIA_TYPE
        assert response.headers["Retry-After"] == "5"
        assert "Storage" in json.loads(response.get_body())["detail"]


async def test_other_errors_answer_a_bare_500_without_details() -> None:
    for exc in (ResourceNotFoundError("gone"), StorageAnswered(409), KeyError("secret-looking-key")):
        response = await guarded(exc)(request())
        assert response.status_code == 500, exc
        body = json.loads(response.get_body())
        assert body["detail"] == "an unexpected error occurred"
        assert "secret" not in response.get_body().decode()


def _request(url: str, **params: str) -> func.HttpRequest:
    return func.HttpRequest("POST", url, params=params, body=b"")


def test_location_is_absolute_on_the_host_the_caller_used() -> None:
    req = _request("https://inquba-fn.azurewebsites.net/api/inquba/events/batch")
    assert status_location(req, "01KABC") == "https://inquba-fn.azurewebsites.net/api/requests/01KABC"
    headers = accepted_headers(_request("http://127.0.0.1:7071/api/insider/sync?mode=async"), "01KABC")
    assert headers == {"Location": "http://127.0.0.1:7071/api/requests/01KABC", "Retry-After": "5"}


def test_location_carries_the_key_only_when_the_caller_put_it_in_its_url() -> None:
    req = _request("https://fn.example/api/inquba/events/batch?code=k%2By", code="k+y")
    assert status_location(req, "01KABC") == "https://fn.example/api/requests/01KABC?code=k%2By"


async def test_an_upstream_without_settings_answers_503_naming_them() -> None:
    response = await guarded(UpstreamNotConfigured("Insider", "INSIDER_PARTNER_NAME and INSIDER_API_KEY"))(request())
    assert response.status_code == 503 and response.mimetype == PROBLEM_MEDIA_TYPE
    body = json.loads(response.get_body())
    assert body["detail"] == "Insider is not configured: set INSIDER_PARTNER_NAME and INSIDER_API_KEY"
    assert body["settings"] == [body["detail"]]
