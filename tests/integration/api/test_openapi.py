"""The OpenAPI document and the Power Platform connector: complete, valid, described, and not stale."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator, OpenAPIV31SpecValidator

import function_app
from scripts import generate_api_docs as generator
from scripts.generate_api_docs import ROOT
from shared.function_app_base import FunctionApp
from shared.web.openapi import DocumentationMismatch, build_openapi, http_routes
from shared.web.openapi_operations import OPERATIONS
from tests.integration.conftest import RunningApp

METHODS = {"get", "put", "post", "delete", "patch"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in METHODS]


def test_every_route_is_documented_and_every_documented_route_exists(document: dict[str, Any]) -> None:
    routes = {(r.function_name, m) for r in http_routes(function_app.app) for m in r.methods}
    documented = {(name, m) for name, methods in OPERATIONS.items() for m in methods}
    assert routes == documented
    assert len(operations(document)) == len(routes)
    for route in http_routes(function_app.app):
        for method in route.methods:
            assert method.lower() in document["paths"]["/" + route.route]


def test_a_route_without_documentation_fails_the_build() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="undocumented", methods=["GET"])
    def undocumented(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    with pytest.raises(DocumentationMismatch, match=r"GET /api/undocumented \(function undocumented\) is not doc"):
        build_openapi(app)


def test_documentation_without_a_route_fails_the_build() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="health", methods=["GET"])
    def health(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    with pytest.raises(DocumentationMismatch, match="documents POST for function inquba_token, which has no such"):
        build_openapi(app)


def test_the_documents_are_valid(document: dict[str, Any], swagger: dict[str, Any]) -> None:
    validate(document, cls=OpenAPIV31SpecValidator)
    validate(swagger, cls=OpenAPIV2SpecValidator)


def test_every_operation_has_a_summary_and_description_and_every_parameter_a_description(
    document: dict[str, Any],
) -> None:
    ids = set()
    for path, method, op in operations(document):
        assert op["summary"].strip() and op["description"].strip(), (path, method)
        assert op["operationId"] not in ids
        ids.add(op["operationId"])
        for param in op.get("parameters", []):
            assert param["description"].strip(), (path, method, param["name"])
        for status, response in op["responses"].items():
            assert response["description"].strip(), (path, method, status)


def test_anonymous_routes_need_no_key_and_the_others_do(document: dict[str, Any]) -> None:
    anonymous = {path for path, _, op in operations(document) if op["security"] == []}
    assert anonymous == {"/health", "/openapi.json", "/outbound-logs/page", "/operations/page"}
    for path, _, op in operations(document):
        assert ("401" in op["responses"]) == (path not in anonymous)


def test_errors_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400 and "content" in response and path != "/health":
                assert list(response["content"]) == ["application/problem+json"], (path, method, status)


def _walk_properties(schema: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(schema, dict):
        for name, prop in schema.get("properties", {}).items():
            found.append((f"{where}.{name}", prop))
            found += _walk_properties(prop, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                found += _walk_properties(schema[key], f"{where}[]")
    return found


def test_every_connector_action_and_field_is_titled_described_and_has_a_visibility(swagger: dict[str, Any]) -> None:
    actions = operations(swagger)
    assert len(actions) == sum(op.connector for methods in OPERATIONS.values() for op in methods.values())
    dynamic = set(re.findall(r'"x-ms-dynamic-schema": \{"operationId": "(\w+)"', json.dumps(swagger)))
    assert dynamic, "the Insider bodies take their fields from a dynamic schema"
    for path, method, op in actions:
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", op["operationId"]), where  # PascalCase
        # Hidden (internal) only when the designer calls it for a dynamic schema: a maker never picks it.
        visibilities = ("important", "advanced") + (("internal",) if op["operationId"] in dynamic else ())
        assert op["summary"] and op["description"] and op["x-ms-visibility"] in visibilities, where
        for param in op["parameters"]:
            assert param["x-ms-summary"] and param["description"], (where, param["name"])
            assert param["x-ms-visibility"] in ("important", "advanced", "internal"), (where, param["name"])
            assert param["in"] != "path" or param["required"], (where, param["name"])
            fields = _walk_properties(param.get("schema", {}), param["name"])
            for response in op["responses"].values():
                fields += _walk_properties(response.get("schema", {}), "response")
            for name, prop in fields:
                assert prop.get("x-ms-summary") and prop.get("description"), (where, name)
                assert prop.get("x-ms-visibility") in ("important", "advanced", "internal"), (where, name)
        text = json.dumps(op)
        assert "anyOf" not in text and "oneOf" not in text and "$ref" not in text, where


def test_the_connector_mirrors_the_inquba_connectors_actions_and_fields(swagger: dict[str, Any]) -> None:
    by_id = {op["operationId"]: op for _, _, op in operations(swagger)}
    assert {i: by_id[i]["summary"] for i in ("AcquireAccessToken", "PublishEvent", "PublishTransaction")} == {
        "AcquireAccessToken": "Acquire Access Token", "PublishEvent": "Create Event",
        "PublishTransaction": "Create Transaction"}

    def titles(operation_id: str) -> dict[str, str]:
        (body,) = [p for p in by_id[operation_id]["parameters"] if p["in"] == "body"]
        return {name: prop["x-ms-summary"] for name, prop in body["schema"]["properties"].items()}

    assert titles("AcquireAccessToken") == {
        "tenantName": "Tenant Name", "hostUrl": "Host URL", "username": "Username", "password": "Password",
        "clientId": "Client ID", "clientSecret": "Client Secret"}
    event = titles("PublishEvent")
    assert event["eventDefinitionCode"] == "Event Definition Code" and event["isTest"] == "Is Test"
    assert next(iter(event)) == "eventDefinitionCode"  # the required field first, as makers expect
    assert titles("PublishTransaction")["transactionDefinitionCode"] == "Transaction Definition Code"
    (body,) = [p for p in by_id["PublishEvent"]["parameters"] if p["in"] == "body"]
    attribute = body["schema"]["properties"]["attributes"]["items"]["properties"]
    assert {k: (v["type"], v["x-ms-summary"]) for k, v in attribute.items()} == {
        "code": ("string", "Code"), "value": ("string", "Value")}
    for added in ("PublishEventBatch", "PublishTransactionBatch", "GetRequestStatus", "SyncInsiderCustomers",
                  "PreviewInsiderUpsert", "ListOutboundLogs", "GetOutboundLogEntry"):
        assert added in by_id


def test_the_function_key_is_the_connections_api_key_and_the_host_a_connection_parameter(
    swagger: dict[str, Any],
) -> None:
    assert swagger["swagger"] == "2.0"
    assert swagger["securityDefinitions"] == {"api_key": {"type": "apiKey", "in": "header", "name": "x-functions-key"}}
    assert swagger["security"] == [{"api_key": []}]
    properties = generator.connector_properties()["properties"]
    assert properties["connectionParameters"]["api_key"]["type"] == "securestring"
    host = generator.HOST_PARAMETER
    assert properties["connectionParameters"][host]["type"] == "string"
    (policy,) = properties["policyTemplateInstances"]
    assert policy["templateId"] == "dynamichosturl"
    assert policy["parameters"]["x-ms-apimTemplateParameter.urlTemplate"] == f"https://@connectionParameters('{host}')"


def test_the_committed_documents_are_not_stale() -> None:
    stale = [str(path.relative_to(ROOT)) for path in generator.stale_files()]
    assert not stale, f"regenerate with: .venv/bin/python -m scripts.generate_api_docs ({', '.join(stale)})"


def test_the_app_serves_the_exported_document(app: RunningApp) -> None:
    response = app.client.get("/api/openapi.json", headers={"x-functions-key": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_the_document_reads_the_functions_the_host_already_built() -> None:
    """The host calls get_functions() once, and azure.functions raises on a second call; the app's FunctionApp
    (shared/function_app_base.py) answers the same list again, so the document reads public metadata."""
    plain = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app = FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for each in (plain, app):

        @each.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
        def health(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("")

        each.get_functions()  # as the host does
    with pytest.raises(ValueError, match="unique function name"):
        plain.get_functions()
    with pytest.raises(DocumentationMismatch):  # reads the routes, and says the rest of OPERATIONS has none
        build_openapi(app)
    routes = http_routes(app)
    assert [(r.function_name, r.route, r.methods, r.anonymous) for r in routes] == [
        ("health", "health", ("GET",), True)]
