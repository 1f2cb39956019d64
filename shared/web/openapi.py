"""The OpenAPI 3.1 document of the HTTP API, built from the function app's routes and the code's own models.

`OPERATIONS` is the one place that documents a route: function name -> HTTP method -> `Operation`
(operationId, summary, description, request model, parameters, responses). `build_openapi(app)` joins
it with the routes the function app really has (its `get_functions()`, which `shared.function_app_base` lets
be asked again after the host's indexing) and fails naming any route without
documentation or documentation without a route. Schemas come from the pydantic models that parse
requests and shape responses (`shared/inquba/models.py`, `shared/web/api_models.py`) and from the Insider
mapping's JSON Schema. `scripts/generate_api_docs.py` writes it to docs/openapi.json and derives the
Power Platform connector (Swagger 2.0) from it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared import __version__
from shared.function_app_base import FunctionApp
from shared.inquba.models import (
    Attribute,
)
from shared.insider.mapping_schema import mapping_json_schema
from shared.web.openapi_operations import (
    BAD_REQUEST,
    FIELD_DOCS,
    FIELD_SCHEMAS,
    HEADERS,
    OPERATIONS,
    REF_PREFIX,
    Operation,
    Resp,
    SchemaSource,
    problem_response,
)

OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEMES = {
    "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                    "description": "A function key (`az functionapp keys list`)."},
    "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                         "description": "The function key in the URL; a 202's Location then carries it too."},
}


class DocumentationMismatch(ValueError):
    """A route without documentation, or documentation without a route."""


# --- Routes of the function app ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    function_name: str
    route: str  # without the api/ prefix, constraints removed: requests/{requestId}
    methods: tuple[str, ...]
    anonymous: bool


def http_routes(app: FunctionApp) -> list[HttpRoute]:
    """The app's HTTP routes, from its functions' metadata (shared.function_app_base keeps `get_functions()`)."""
    routes = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        name = function.get_function_name()
        route = re.sub(r"\{\*{0,2}(\w+)[^}]*\}", r"{\1}", getattr(trigger, "route", None) or name)
        methods = getattr(trigger, "methods", None) or ["GET", "POST", "PUT", "PATCH", "DELETE"]
        level = getattr(trigger, "auth_level", None) or app.auth_level
        level_text = str(getattr(level, "value", level)).lower()
        routes.append(HttpRoute(name, route.strip("/"), tuple(str(getattr(x, "value", x)).upper() for x in methods),
                                level_text == "anonymous"))
    return routes


# --- Schemas ----------------------------------------------------------------------------------------------------


def _rewrite_refs(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for old, new in mapping.items():
                    if value.startswith(old):
                        value = new + value[len(old):]
                        break
            out[key] = _rewrite_refs(value, mapping)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, mapping) for v in node]
    return node


def _insider_mapping_schemas() -> dict[str, Any]:
    """The mapping's JSON Schema as components: InsiderMapping plus one InsiderMapping<Def> per $defs entry."""
    schema = mapping_json_schema()
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    names = {name: "InsiderMapping" + name[:1].upper() + name[1:] for name in defs}
    refs = {f"#/$defs/{name}": REF_PREFIX + new for name, new in names.items()}
    out = {"InsiderMapping": _rewrite_refs(schema, refs)}
    for name, definition in defs.items():
        out[names[name]] = _rewrite_refs(definition, refs)
    return out


def _schema_models() -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    """(request models, response models) named anywhere in OPERATIONS."""
    requests: list[type[BaseModel]] = [Attribute]
    responses: list[type[BaseModel]] = []

    def add(source: SchemaSource | None, into: list[type[BaseModel]]) -> None:
        sources = source if isinstance(source, tuple) else (source,)
        for item in sources:
            if isinstance(item, type) and issubclass(item, BaseModel) and item not in into:
                into.append(item)

    for methods in OPERATIONS.values():
        for op in methods.values():
            add(op.body, requests)
            for resp in op.responses.values():
                add(resp.schema, responses)
    return requests, responses


def _clean(node: Any, parent_key: str = "") -> Any:
    """Drop pydantic's generated property titles and null defaults."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: _clean({k: v for k, v in prop.items() if k != "title"}) for name, prop in value.items()
                }
            elif key == "default" and value is None:
                continue
            else:
                out[key] = _clean(value, key)
        return out
    if isinstance(node, list):
        return [_clean(v, parent_key) for v in node]
    return node


def component_schemas() -> dict[str, Any]:
    requests, responses = _schema_models()
    pairs = [(model, "validation") for model in requests] + [(model, "serialization") for model in responses]
    _, top = models_json_schema(pairs, by_alias=True, ref_template=REF_PREFIX + "{model}")
    schemas: dict[str, Any] = _rewrite_refs(top.get("$defs", {}), {"#/$defs/": REF_PREFIX})
    schemas = {name: _clean(schema) for name, schema in schemas.items()}
    for registry, entries in (("FIELD_DOCS", FIELD_DOCS), ("FIELD_SCHEMAS", FIELD_SCHEMAS)):
        for key, docs in entries.items():
            model_name, prop = key.split(".", 1)
            target = schemas.get(model_name, {}).get("properties", {}).get(prop)
            if target is None:
                raise DocumentationMismatch(f"{registry} names {key}, which no schema has")
            target.update({k: v for k, v in docs.items() if k != "title"})
            if "title" in docs:
                target["x-ms-summary"] = docs["title"]
    schemas.update(_insider_mapping_schemas())
    return dict(sorted(schemas.items()))


def schema_ref(source: SchemaSource) -> dict[str, Any]:
    if isinstance(source, tuple):
        return {"anyOf": [schema_ref(item) for item in source]}
    if isinstance(source, dict):
        return copy.deepcopy(source)
    return {"$ref": REF_PREFIX + source.__name__}


# --- The document ------------------------------------------------------------------------------------------------


def _response(resp: Resp) -> dict[str, Any]:
    out: dict[str, Any] = {"description": resp.description}
    if resp.headers:
        out["headers"] = {}
        for name in resp.headers:
            optional = name.endswith("?")
            header = copy.deepcopy(HEADERS[name.rstrip("?")])
            header["required"] = not optional
            out["headers"][name.rstrip("?")] = header
    if resp.schema is not None:
        out["content"] = {resp.media_type: {"schema": schema_ref(resp.schema)}}
    return out


def _operation(op: Operation, method: str, route: HttpRoute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
    }
    path_names = re.findall(r"\{(\w+)\}", route.route)
    documented = [p.name for p in op.params if p.location == "path"]
    if sorted(path_names) != sorted(documented):
        raise DocumentationMismatch(f"{route.function_name} {method}: route parameters {path_names}, "
                                    f"documented {documented}")
    if op.params:
        out["parameters"] = [
            {"name": p.name, "in": p.location, "description": p.description, "required": p.required or
             p.location == "path", "schema": copy.deepcopy(p.schema), "x-ms-summary": p.title or title_of(p.name),
             "x-ms-visibility": p.visibility}
            for p in op.params
        ]
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required,
                              "content": {"application/json": {"schema": schema_ref(op.body)}}}
    responses = {str(status): _response(resp) for status, resp in op.responses.items()}
    if op.body is not None:
        limit = {"request": "MAX_REQUEST_BODY_BYTES (1 MiB)", "batch": "MAX_BATCH_BODY_BYTES (16 MiB)",
                 "mode": "MAX_REQUEST_BODY_BYTES (1 MiB), or with mode=async MAX_BATCH_BODY_BYTES (16 MiB)",
                 }[op.body_limit]
        responses.setdefault("400", _response(BAD_REQUEST))
        responses["413"] = _response(problem_response(f"The body is larger than {limit}."))
        responses["415"] = _response(problem_response("The body is not application/json."))
    if not route.anonymous:
        responses["401"] = {"description": "Missing or wrong function key (answered by the Functions host, no body)."}
    out["responses"] = dict(sorted(responses.items()))
    out["security"] = [] if route.anonymous else [{"functionKey": []}, {"functionKeyQuery": []}]
    out["x-ms-visibility"] = op.visibility
    out["x-connector-action"] = op.connector
    if op.body is not None:
        out["x-body-title"] = op.body_title
    return out


def title_of(name: str) -> str:
    """`clientId` -> "Client ID", `hostUrl` -> "Host URL", `If-Match` -> "If Match", `$schema` -> "Schema"."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.lstrip("$")).replace("-", " ").replace("_", " ").split()
    special = {"id": "ID", "url": "URL", "uri": "URI", "etag": "ETag"}
    return " ".join(special.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def build_openapi(app: FunctionApp) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`'s HTTP routes; DocumentationMismatch when a route and OPERATIONS differ."""
    routes = http_routes(app)
    paths: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    problems = []
    for route in routes:
        documented = OPERATIONS.get(route.function_name, {})
        for method in route.methods:
            op = documented.get(method)
            if op is None:
                problems.append(f"{method} /api/{route.route} (function {route.function_name}) is not documented")
                continue
            seen.add((route.function_name, method))
            paths.setdefault("/" + route.route, {})[method.lower()] = _operation(op, method, route)
    for name, methods in OPERATIONS.items():
        for method in methods:
            if (name, method) not in seen:
                problems.append(f"OPERATIONS documents {method} for function {name}, which has no such route")
    if problems:
        raise DocumentationMismatch("; ".join(problems))
    tags = sorted({op.tag for methods in OPERATIONS.values() for op in methods.values()})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "inQuba and Insider connector",
            "version": __version__,
            "description": "Publish to inQuba Journey (events, transactions, tokens; one now or thousands through "
                           "queues) and sync customers to Insider. Errors are application/problem+json (RFC 9457) "
                           "with `errors: [{field, message}]`. Limits: docs/api.md#limits. Every JSON body is "
                           "I-JSON (RFC 7493) as to surrogates: no string or member name may hold half a UTF-16 "
                           "surrogate pair (`\\ud800`-`\\udfff` escaped alone), which JSON can write but no "
                           "UTF-8 text can hold; such a body is a 400 naming `body`.",
        },
        "servers": [{"url": "/api"}],
        "tags": [{"name": tag} for tag in tags],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": component_schemas(), "securitySchemes": copy.deepcopy(SECURITY_SCHEMES)},
    }


_SERVED: dict[int, bytes] = {}


def openapi_json(app: FunctionApp) -> bytes:
    """The document as served (built once per app object)."""
    key = id(app)
    if key not in _SERVED:
        _SERVED[key] = dumps(build_openapi(app)).encode("utf-8")
    return _SERVED[key]


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
