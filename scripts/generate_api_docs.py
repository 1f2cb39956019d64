"""Write docs/openapi.json and the Power Platform custom connector package (connector/) from the app itself.

    .venv/bin/python -m scripts.generate_api_docs           # (re)write the three files
    .venv/bin/python -m scripts.generate_api_docs --check   # exit 1 naming each file that is stale

The OpenAPI 3.1 document comes from `shared.web.openapi.build_openapi` (the function app's routes joined
with the documentation registry and the request/response models). The connector is derived from it:
Swagger 2.0 (the only version custom connectors take) with every schema inlined, `oneOf`/`anyOf`
reduced to what Swagger 2.0 can say, and `x-ms-summary`, `description` and `x-ms-visibility` on
every action, parameter and field; the function key is the connection's API key (`x-functions-key`)
and the app's host a connection parameter applied by a `dynamichosturl` policy. The publisher's
metadata (contact, website, privacy policy, categories, publisher, stack owner, brand colour) is
what microsoft/PowerPlatformConnectors asks of a connector (connector/readme.md, docs/connector.md).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "docs" / "openapi.json"
CONNECTOR_DIR = ROOT / "connector"
SWAGGER_PATH = CONNECTOR_DIR / "apiDefinition.swagger.json"
PROPERTIES_PATH = CONNECTOR_DIR / "apiProperties.json"
PLACEHOLDER_HOST = "your-function-app.azurewebsites.net"
HOST_PARAMETER = "hostName"
# Who publishes and supports this connector: the organisation that runs this app, not inQuba or Insider
# (the certified inQuba Journey connector is inQuba's; these must not be its values). The addresses are
# placeholders on the reserved .example domain: put the owner's own here before submitting the connector.
PUBLISHER = {
    "name": "inQuba and Insider Functions maintainers",
    "website": "https://inquba-insider-functions.example/",
    "privacy_policy": "https://inquba-insider-functions.example/privacy",
    "email": "support@inquba-insider-functions.example",
}
CATEGORIES = "Data;Marketing"  # from the categories Power Platform lists; inQuba journeys and Insider marketing
ICON_BRAND_COLOR = "#0B6E4F"  # ours: not the certified inQuba connector's #FFF1E4, nor the refused #007ee5/#ffffff
VISIBILITY_RANK = {"important": 0, "advanced": 1, "internal": 2}
# The formats the connector repository's Swagger 2.0 schema takes; others (continuation-token) are dropped.
SWAGGER_FORMATS = {"int32", "int64", "float", "double", "byte", "binary", "date", "date-time", "password"}
_DROPPED_KEYWORDS = {
    "$schema", "$id", "$comment", "const", "propertyNames", "examples", "unevaluatedProperties", "contentMediaType",
    "dependentRequired", "if", "then", "else", "not", "prefixItems", "x-ms-summary", "title",
}


def openapi_document() -> dict[str, Any]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # Importing the app logs missing settings (storage, upstreams): irrelevant to its routes.
    logging.getLogger("function_app").disabled = True
    import function_app  # the real app: its decorators' builders are the routes (get_functions() is not called)
    from shared.web.openapi import build_openapi

    return build_openapi(function_app.app)


# --- OpenAPI 3.1 schema -> Swagger 2.0 schema, inlined and annotated -------------------------------------------


class _Converter:
    """Inlines and converts the schemas of one side: inputs (`output=False`) or outputs (`output=True`)."""

    def __init__(self, components: dict[str, Any], output: bool = False) -> None:
        from shared.web.openapi import title_of
        from shared.web.openapi_operations import FIELD_VISIBILITY, REF_PREFIX

        self.components = components
        self.output = output
        self.ref_prefix = REF_PREFIX
        self.visibility = FIELD_VISIBILITY
        self.title_of = title_of

    def _visibility(self, names: tuple[str, ...], prop: str, required: bool, within: str) -> str:
        """Listed in FIELD_VISIBILITY (under any of the schemas the object comes from), else important for a
        required input, else advanced; never more visible than the field it is `within` (a field required
        inside an optional object is needed only once that object is given)."""
        own = "important" if required and not self.output else "advanced"
        for name in names:
            own = self.visibility.get(f"{name}.{prop}", own)
        return max(own, within, key=VISIBILITY_RANK.__getitem__)

    def _resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Follow a $ref (keeping the referring schema's own description); returns the component's name too."""
        name = None
        while "$ref" in schema:
            name = schema["$ref"].removeprefix(self.ref_prefix)
            outer = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self.components[name], **outer}
        return schema, name

    def _without_alternatives(self, schema: dict[str, Any]) -> tuple[dict[str, Any], bool, tuple[str, ...]]:
        """anyOf / oneOf folded into one schema (Swagger 2.0 has neither): (schema, nullable, component names)."""
        nullable, names = False, ()
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema and "properties" in schema and not any(
                    "type" in o or "$ref" in o for o in schema[keyword]):
                del schema[keyword]  # rules across the object's fields (all or none): descriptive only, as if/then
            if keyword in schema:
                options = schema.pop(keyword)
                kept = [o for o in options if o.get("type") != "null"]
                nullable = nullable or len(kept) < len(options)
                resolved = [self._resolve(o) for o in kept]
                if len(kept) > 1 and all(s.get("type") == "object" and "properties" in s for s, _ in resolved):
                    merged: dict[str, Any] = {"type": "object", "properties": {}}
                    for option, _ in resolved:
                        for prop, value in option["properties"].items():
                            merged["properties"].setdefault(prop, value)
                    base, base_names = merged, tuple(n for _, n in resolved if n)
                else:  # e.g. attributes as a list or a map: Swagger 2.0 takes the first form (the connector's)
                    base, base_names = resolved[0][0], (resolved[0][1],) if resolved[0][1] else ()
                outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "title")}
                schema = {**copy.deepcopy(base), **outer}
                names = names or base_names
        return schema, nullable, names

    def convert(self, schema: dict[str, Any], depth: int = 0, within: str = "important") -> dict[str, Any]:
        if depth > 20:
            raise ValueError("schema nested too deeply (a recursive $ref?)")
        schema, name = self._resolve(schema)
        schema, nullable, alternative_names = self._without_alternatives(copy.deepcopy(schema))
        names = ((name,) if name else ()) or alternative_names
        nullable = _to_swagger_keywords(schema) or nullable
        out = {k: v for k, v in schema.items() if k not in _DROPPED_KEYWORDS
               and (k != "format" or v in SWAGGER_FORMATS)}
        if nullable:
            out["x-nullable"] = True
        if "items" in out and isinstance(out["items"], dict):
            out["items"] = self.convert(out["items"], depth + 1, within)
        if isinstance(out.get("additionalProperties"), dict):
            out["additionalProperties"] = self.convert(out["additionalProperties"], depth + 1, within)
        if "properties" in out:
            self._convert_properties(out, names, depth, within)
        return out

    def _convert_properties(self, out: dict[str, Any], names: tuple[str, ...], depth: int, within: str) -> None:
        if out.get("type") is None:
            out["type"] = "object"
        required = set(out.get("required", []))
        properties = {}
        for prop, value in out["properties"].items():
            if "x-alias-of" in value:  # another name of a field (the certified connector's): one field each
                continue
            visibility = self._visibility(names, prop, prop in required, within)
            converted = self.convert(value, depth + 1, visibility)
            title = value.get("x-ms-summary") or self._resolve(value)[0].get("x-ms-summary") or self.title_of(prop)
            converted["x-ms-summary"] = title
            converted.setdefault("description", f"{title}.")
            converted["x-ms-visibility"] = visibility
            properties[prop] = converted
        # Important fields first, required ones first among them; otherwise the model's order.
        out["properties"] = dict(sorted(properties.items(), key=lambda kv: (
            VISIBILITY_RANK[kv[1]["x-ms-visibility"]], kv[0] not in required)))


def _to_swagger_keywords(schema: dict[str, Any]) -> bool:
    """Rewrite, in place, the keywords Swagger 2.0 spells differently or lacks; True when a type list had null."""
    nullable = False
    if "allOf" in schema:  # the mapping schema's if/then rules: descriptive only, not expressible in 2.0
        schema["allOf"] = [s for s in schema["allOf"] if "if" not in s]
        if not schema["allOf"]:
            del schema["allOf"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        nullable = len(kinds) < len(kind)
        schema["type"] = kinds[0] if len(kinds) == 1 else "string"  # string | number | boolean: sent as text
    if "const" in schema:
        value = schema["const"]
        schema["enum"] = [value]
        schema.setdefault("type", {str: "string", bool: "boolean", int: "integer"}.get(type(value), "string"))
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), int | float) and not isinstance(schema.get(bound), bool):
            schema[flag] = schema.pop(bound)
            schema[bound] = True
    if schema.get("default", 0) is None:
        del schema["default"]
    return nullable


def _parameter(param: dict[str, Any], converter: _Converter) -> dict[str, Any]:
    schema = converter.convert(param["schema"])
    out = {
        "name": param["name"],
        "in": param["in"],
        "required": param.get("required", False),
        **{k: v for k, v in schema.items() if k in ("type", "enum", "pattern", "maxLength", "minLength", "default",
                                                     "minimum", "maximum", "format")},
        "description": param["description"],
        "x-ms-summary": param["x-ms-summary"],
        "x-ms-visibility": param["x-ms-visibility"],
    }
    out.setdefault("type", "string")
    return out


def connector_swagger(openapi: dict[str, Any]) -> dict[str, Any]:
    """The connector's apiDefinition.swagger.json: the operations marked x-connector-action, as Swagger 2.0."""
    converter = _Converter(openapi["components"]["schemas"])
    outputs = _Converter(openapi["components"]["schemas"], output=True)
    paths: dict[str, Any] = {}
    for path, methods in openapi["paths"].items():
        for method, op in methods.items():
            if not op.get("x-connector-action"):
                continue
            parameters = [_parameter(p, converter) for p in op.get("parameters", [])]
            body = op.get("requestBody")
            if body is not None:
                schema = converter.convert(body["content"]["application/json"]["schema"])
                parameters.append({
                    "name": "body",
                    "in": "body",
                    "required": body.get("required", False),
                    "schema": schema,
                    "description": schema.get("description") or f"The {op['x-body-title'].lower()}.",
                    "x-ms-summary": op["x-body-title"],
                    "x-ms-visibility": "important",
                })
            responses: dict[str, Any] = {}
            for status, resp in op["responses"].items():
                if not status.startswith("2"):
                    continue
                out: dict[str, Any] = {"description": resp["description"]}
                content = resp.get("content", {}).get("application/json")
                if content is not None:
                    out["schema"] = outputs.convert(content["schema"])
                if resp.get("headers"):
                    out["headers"] = {
                        name: {"type": "string", "description": header["description"]}
                        for name, header in resp["headers"].items()
                    }
                responses[status] = out
            responses["default"] = {"description": "An error, as application/problem+json (RFC 9457)."}
            entry: dict[str, Any] = {
                "operationId": op["operationId"],
                "summary": op["summary"],
                "description": op["description"],
                "tags": op.get("tags", []),
                "x-ms-visibility": op["x-ms-visibility"],
                "parameters": parameters,
                "responses": responses,
            }
            if op.get("security") == []:
                entry["security"] = []
            paths.setdefault("/api" + path, {})[method] = entry
    info = openapi["info"]
    return {
        "swagger": "2.0",
        "info": {
            "title": "inQuba and Insider (Functions)",
            "description": "Publish events and transactions to inQuba Journey (one now, or thousands queued with "
                           "retries) and sync customers to Insider, through your own Azure Functions app.",
            "version": info["version"],
            "contact": {"name": PUBLISHER["name"], "url": PUBLISHER["website"], "email": PUBLISHER["email"]},
        },
        "x-ms-connector-metadata": [
            {"propertyName": "Website", "propertyValue": PUBLISHER["website"]},
            {"propertyName": "Privacy policy", "propertyValue": PUBLISHER["privacy_policy"]},
            {"propertyName": "Categories", "propertyValue": CATEGORIES},
        ],
        "host": PLACEHOLDER_HOST,
        "basePath": "/",
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": {},
        "parameters": {},
        "responses": {},
        "securityDefinitions": {"api_key": {"type": "apiKey", "in": "header", "name": "x-functions-key"}},
        "security": [{"api_key": []}],
        "tags": [{"name": tag["name"]} for tag in openapi.get("tags", [])],
    }


def connector_properties() -> dict[str, Any]:
    """The connector's apiProperties.json: the function key and the app's host as connection parameters."""
    return {
        "properties": {
            "connectionParameters": {
                "api_key": {
                    "type": "securestring",
                    "uiDefinition": {
                        "displayName": "Function Key",
                        "description": "A function key of the app (az functionapp keys list -g RG -n APP).",
                        "tooltip": "Sent as the x-functions-key header with every action",
                        "constraints": {"tabIndex": 2, "clearText": False, "required": "true"},
                    },
                },
                HOST_PARAMETER: {
                    "type": "string",
                    "uiDefinition": {
                        "displayName": "Function App Host",
                        "description": "The app's host name without scheme, e.g. my-app.azurewebsites.net.",
                        "tooltip": "Host of the Azure Functions app, without https://",
                        "constraints": {"tabIndex": 1, "clearText": True, "required": "true"},
                    },
                },
            },
            "iconBrandColor": ICON_BRAND_COLOR,
            "capabilities": [],
            "policyTemplateInstances": [
                {
                    "templateId": "dynamichosturl",
                    "title": "Set Function App Host",
                    "parameters": {
                        "x-ms-apimTemplateParameter.urlTemplate": f"https://@connectionParameters('{HOST_PARAMETER}')",
                    },
                }
            ],
            "publisher": PUBLISHER["name"],
            "stackOwner": PUBLISHER["name"],
        }
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    from shared.web.openapi import dumps as openapi_dumps

    openapi = openapi_document()
    return {
        OPENAPI_PATH: openapi_dumps(openapi),
        SWAGGER_PATH: dumps(connector_swagger(openapi)),
        PROPERTIES_PATH: dumps(connector_properties()),
    }


def stale_files() -> list[Path]:
    return [path for path, text in outputs().items() if not path.exists() or path.read_text("utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a written file differs from the code")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run: python -m scripts.generate_api_docs)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
