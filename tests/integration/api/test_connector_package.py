"""The connector package (connector/) against microsoft/PowerPlatformConnectors' rules and the project's own.

The repository validates a submission with the JSON schemas of its `schemas/` folder, kept (not copied into
the project) in ../shared/reference/powerplatform/ beside this checkout; its templates
(templates/certified-connectors/) and PR checklist ask for the rest: a contact, Website, Privacy policy and
Categories metadata, a publisher and stack owner, a brand colour other than #007ee5 and #ffffff, response
schemas, and a readme.md with the template's sections. The project's own rules: Title Case titles, the few
fields a flow author needs important and the rest advanced, typed Insider bodies (the mapping's source
fields as a dynamic schema), and the certified inQuba connector's token names.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from jsonschema import ValidationError, validators
from jsonschema_specifications import REGISTRY as METASCHEMAS

from scripts import generate_api_docs as generator
from scripts.generate_api_docs import CONNECTOR_DIR, ROOT
from shared.inquba.models import CERTIFIED_TOKEN_FIELDS
from shared.web.api_models import InsiderSourceFields
from shared.web.operations import FIELD_VISIBILITY

REFERENCE_SCHEMAS = ROOT.parent / "shared" / "reference" / "powerplatform"
README = CONNECTOR_DIR / "readme.md"
METHODS = {"get", "put", "post", "delete", "patch"}
# Power Platform product names (the template: a title must not contain them, nor "API" or "Connector").
PRODUCT_NAMES = ("Power Apps", "Power Automate", "Power BI", "Power Pages", "Power Platform", "Copilot Studio",
                 "Dataverse", "Logic Apps")
# Connector categories as Microsoft Learn's certification submission page lists them (not in the reference).
CATEGORIES = {"AI", "Business Management", "Business Intelligence", "Collaboration", "Commerce", "Communication",
              "Content and Files", "Data", "Finance", "Human Resources", "Internet of Things", "IT Operations",
              "Lifestyle and Entertainment", "Marketing", "Productivity", "Sales and CRM", "Security",
              "Social Media", "Website"}
# Refused by the PR checklist (#007ee5, #ffffff), Independent Publishers' (#da3b01), the certified inQuba's.
NOT_OUR_COLOURS = {"#007ee5", "#ffffff", "#da3b01", "#fff1e4"}
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
BRANDS = {"inQuba"}
# The template's required sections of readme.md, in its order (## Getting Started and FAQ are optional).
README_SECTIONS = ("Publisher: ", "Prerequisites", "Supported Operations", "Obtaining Credentials",
                   "Known Issues and Limitations", "Deployment Instructions")
MOST_IMPORTANT_INPUTS = 7
MOST_IMPORTANT_OUTPUTS = 5


@pytest.fixture(scope="module")
def properties() -> dict[str, Any]:
    return generator.connector_properties()


def actions(swagger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: {**op, "path": path, "method": method}
            for path, item in swagger["paths"].items() for method, op in item.items() if method in METHODS}


def fields(schema: Any, where: str = "", needed: bool = True) -> list[tuple[str, dict[str, Any], bool]]:
    """Every property under `schema`: (path, schema, needed), needed when it and every object around it are
    required (a field required inside an optional object is needed only once that object is given)."""
    found: list[tuple[str, dict[str, Any], bool]] = []
    if not isinstance(schema, dict):
        return found
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        found.append((f"{where}.{name}", prop, needed and name in required))
        found += fields(prop, f"{where}.{name}", needed and name in required)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += fields(schema[key], f"{where}[]", needed)
    return found


def inputs(op: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    found = []
    for param in op["parameters"]:
        if param["in"] == "body":
            found += fields(param["schema"], "body", param["required"])
        else:
            found.append((param["name"], param, param["required"]))
    return found


def extensions(node: Any, key: str) -> list[Any]:
    """Every value of `key` anywhere in `node`."""
    if isinstance(node, list):
        return [value for item in node for value in extensions(item, key)]
    if not isinstance(node, dict):
        return []
    return ([node[key]] if key in node else []) + [v for item in node.values() for v in extensions(item, key)]


def body_schema(op: dict[str, Any]) -> dict[str, Any]:
    (body,) = [p for p in op["parameters"] if p["in"] == "body"]
    return body["schema"]


# --- microsoft/PowerPlatformConnectors: its schemas/ ----------------------------------------------------------


def without_comments(text: str) -> str:
    """JSON with // and /* */ comments (the repository's schema files) as JSON; strings are kept as they are."""
    out, i, in_string = [], 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(text[i:i + 2] if char == "\\" else char)
            i += 2 if char == "\\" else 1
            in_string = char != '"'
        elif char == '"':
            out.append(char)
            in_string, i = True, i + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def repository_validator(name: str) -> Any:
    if not REFERENCE_SCHEMAS.is_dir():
        pytest.skip(f"{REFERENCE_SCHEMAS} is absent (a checkout outside the workspace): the repository's schemas "
                    "are read from there, never copied into the project")
    schema = json.loads(without_comments((REFERENCE_SCHEMAS / name).read_text("utf-8")))
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    # The metaschemas they refer to are bundled with jsonschema: nothing is fetched.
    return cls(schema, registry=METASCHEMAS, format_checker=cls.FORMAT_CHECKER)


def test_the_comment_stripper_keeps_strings_and_drops_comments() -> None:
    text = '{"a": "x // not a comment", /* gone */ "b": "q\\"//" // gone\n}'
    assert json.loads(without_comments(text)) == {"a": "x // not a comment", "b": 'q"//'}


def test_the_package_passes_the_connector_repositorys_schemas(swagger: dict[str, Any],
                                                              properties: dict[str, Any]) -> None:
    definition = repository_validator("apiDefinition.swagger.schema.json")
    api_properties = repository_validator("paconn-apiProperties.schema.json")
    for validator, instance in ((definition, swagger), (api_properties, properties)):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(instance)]
        assert not errors, errors
    # The committed files are these (test_openapi checks they are not stale); and the schemas do refuse.
    assert json.loads((CONNECTOR_DIR / "apiDefinition.swagger.json").read_text()) == swagger
    broken = copy.deepcopy(swagger)
    broken["paths"]["/api/inquba/events"]["post"]["x-ms-visibility"] = "hidden"
    with pytest.raises(ValidationError):
        definition.validate(broken)
    with pytest.raises(ValidationError):
        api_properties.validate({"properties": {"connectionParameters": {}}})  # no iconBrandColor


# --- microsoft/PowerPlatformConnectors: templates and PR checklist ---------------------------------------------


def test_info_has_a_contact_and_a_title_and_description_as_the_template_asks(swagger: dict[str, Any]) -> None:
    info = swagger["info"]
    contact = info["contact"]
    assert contact["name"].strip() and contact["url"].startswith("https://")
    assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact["email"])
    assert not re.search(r"\b(API|Connector)\b", info["title"], flags=re.I), info["title"]
    assert not any(product.lower() in info["title"].lower() for product in PRODUCT_NAMES)
    assert 30 <= len(info["description"]) <= 500


def test_connector_metadata_has_website_privacy_policy_and_categories_of_our_own(swagger: dict[str, Any]) -> None:
    metadata = {m["propertyName"]: m["propertyValue"] for m in swagger["x-ms-connector-metadata"]}
    assert set(metadata) == {"Website", "Privacy policy", "Categories"}
    assert metadata["Website"].startswith("https://") and metadata["Privacy policy"].startswith("https://")
    assert set(metadata["Categories"].split(";")) <= CATEGORIES
    # Ours, not the certified inQuba Journey connector's (its publisher is inQuba, this app's is not).
    assert not any("inquba.com" in value for value in (*metadata.values(), swagger["info"]["contact"]["url"]))


def test_api_properties_name_the_publisher_and_stack_owner_and_a_brand_colour_of_our_own(
    properties: dict[str, Any], swagger: dict[str, Any],
) -> None:
    props = properties["properties"]
    assert props["publisher"].strip() and props["stackOwner"].strip()
    assert props["publisher"] == swagger["info"]["contact"]["name"]  # one name for who answers for it
    assert "inquba customer intelligence" not in props["publisher"].lower()
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", props["iconBrandColor"])
    assert props["iconBrandColor"].lower() not in NOT_OUR_COLOURS


def test_every_action_answers_a_response_schema(swagger: dict[str, Any]) -> None:
    for operation_id, op in actions(swagger).items():
        successes = {status: r for status, r in op["responses"].items() if status.startswith("2")}
        assert successes and all("schema" in r for r in successes.values()), operation_id


def readme_sections() -> dict[str, str]:
    """`## Heading` -> the text under it (the template's second level)."""
    text = README.read_text("utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_the_readme_follows_the_repositorys_template(swagger: dict[str, Any], properties: dict[str, Any]) -> None:
    text = README.read_text("utf-8")
    assert text.startswith(f"# {swagger['info']['title']}\n")
    headings = list(readme_sections())
    positions = [next(i for i, h in enumerate(headings) if h.startswith(s)) for s in README_SECTIONS]
    assert positions == sorted(positions), headings
    publisher = next(h for h in headings if h.startswith("Publisher: ")).removeprefix("Publisher: ")
    assert publisher == properties["properties"]["publisher"]
    for section in README_SECTIONS[1:]:
        assert readme_sections()[section].strip(), section


def test_the_readme_describes_every_action_a_maker_sees(swagger: dict[str, Any]) -> None:
    described = re.findall(r"^### (.+)$", readme_sections()["Supported Operations"], flags=re.M)
    visible = [op["summary"] for op in actions(swagger).values() if op["x-ms-visibility"] != "internal"]
    assert sorted(described) == sorted(visible)


# --- The project's own rules -------------------------------------------------------------------------------------


def is_title_case(text: str) -> bool:
    words = text.split()
    for index, word in enumerate(words):
        core = word.strip("()[],.:;'\"")
        if not core or core in BRANDS or core[0].isdigit() or core[0].isupper():
            continue
        if not core[0].isalpha() or core not in SMALL_WORDS or index in (0, len(words) - 1):
            return False
    return True


def test_title_case_is_what_the_check_says() -> None:
    assert all(map(is_title_case, ["Sync Customers to Insider", "Create Events in Bulk", "Get OpenAPI Document",
                                   "ETag", "Customer ID", "Publish to inQuba"]))
    assert not any(map(is_title_case, ["Check health", "Outbound log page", "$schema", "to Insider", "Sync to"]))


def test_every_summary_and_field_title_is_title_case(document: dict[str, Any], swagger: dict[str, Any]) -> None:
    summaries = [op["summary"] for item in document["paths"].values() for op in item.values()]
    titles = extensions(swagger, "x-ms-summary")
    bad = sorted({t for t in summaries + titles if not is_title_case(t)})
    assert not bad, bad


def test_required_inputs_are_important_and_important_fields_come_first(swagger: dict[str, Any]) -> None:
    for operation_id, op in actions(swagger).items():
        for name, schema, needed in inputs(op):
            if needed:
                assert schema["x-ms-visibility"] == "important", (operation_id, name)
        schemas = [p["schema"] for p in op["parameters"] if p["in"] == "body"]
        schemas += [r["schema"] for r in op["responses"].values() if "schema" in r]
        for schema in schemas:
            for where, node in [("", schema), *[(n, s) for n, s, _ in fields(schema)]]:
                ranks = [generator.VISIBILITY_RANK[p["x-ms-visibility"]] for p in node.get("properties", {}).values()]
                assert ranks == sorted(ranks), (operation_id, where)


def test_only_the_few_fields_a_flow_author_needs_are_important(swagger: dict[str, Any]) -> None:
    important_count, total = 0, 0
    for operation_id, op in actions(swagger).items():
        important_inputs = [n for n, s, _ in inputs(op) if s["x-ms-visibility"] == "important"]
        assert len(important_inputs) <= MOST_IMPORTANT_INPUTS, (operation_id, important_inputs)
        for status, response in op["responses"].items():
            found = fields(response.get("schema"))
            important = [n for n, s, _ in found if s["x-ms-visibility"] == "important"]
            assert len(important) <= MOST_IMPORTANT_OUTPUTS, (operation_id, status, important)
            important_count, total = important_count + len(important), total + len(found)
        important_count += len(important_inputs)
        total += len(inputs(op))
    assert important_count * 3 < total, f"{important_count} of {total} fields are important"


def test_the_main_actions_show_these_fields_first(swagger: dict[str, Any]) -> None:
    by_id = actions(swagger)

    def important(operation_id: str, status: str | None = None) -> set[str]:
        found = fields(by_id[operation_id]["responses"][status]["schema"]) if status else inputs(by_id[operation_id])
        return {name for name, schema, _ in found if schema["x-ms-visibility"] == "important"}

    assert important("PublishEvent") == {"body.eventDefinitionCode", "body.isTest", "body.attributes",
                                         "body.attributes[].code", "body.attributes[].value"}
    assert important("PublishEvent", "200") == {".identifier", ".status", ".upstreamBody"}
    assert important("AcquireAccessToken", "200") == {".accessToken"}
    assert important("SyncInsiderCustomers") >= {"body.customers[].id", "body.customers[].attributes"}
    assert "body.customers[].name" not in important("SyncInsiderCustomers")
    assert important("PublishEventBatch", "202") == {".batchId", ".accepted"}


def test_field_visibility_names_only_fields_that_exist(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    missing = [key for key in FIELD_VISIBILITY
               if key.split(".", 1)[1] not in components.get(key.split(".", 1)[0], {}).get("properties", {})]
    assert not missing


def test_insider_bodies_are_typed_with_the_mappings_source_fields_as_dynamic_schema(swagger: dict[str, Any]) -> None:
    by_id = actions(swagger)
    for operation_id, op in by_id.items():
        for param in op["parameters"]:
            for where, schema, _ in [("body", param.get("schema", {}), True), *fields(param.get("schema"), "body")]:
                if schema.get("type") == "object":  # the designer shows no field for an object without either
                    assert "properties" in schema or "x-ms-dynamic-schema" in schema, (operation_id, where)
    for operation_id in ("SyncInsiderCustomers", "PreviewInsiderUpsert"):
        customer = body_schema(by_id[operation_id])["properties"]["customers"]["items"]["properties"]
        event = customer["events"]["items"]["properties"]
        assert customer["attributes"]["x-ms-dynamic-schema"]["value-path"] == "attributes"
        assert event["params"]["x-ms-dynamic-schema"]["value-path"] == "eventParams"
    mapping = body_schema(by_id["PreviewInsiderUpsert"])["properties"]["mapping"]
    assert {"identifiers", "profile", "events", "options"} <= set(mapping["properties"])


def test_every_dynamic_schema_is_answered_by_a_hidden_get_with_that_path(swagger: dict[str, Any]) -> None:
    by_id = actions(swagger)
    found = extensions(swagger, "x-ms-dynamic-schema")
    assert found
    for extension in found:
        op = by_id[extension["operationId"]]
        assert op["method"] == "get" and op["x-ms-visibility"] == "internal"
        assert not [p for p in op["parameters"] if p["required"]]
        answered = op["responses"]["200"]["schema"]["properties"][extension["value-path"]]
        assert {"type", "properties"} <= set(answered["properties"])
    assert {f.alias or name for name, f in InsiderSourceFields.model_fields.items()} == {"attributes", "eventParams"}


def test_the_token_action_answers_both_token_names_and_takes_the_certified_field_names(
    document: dict[str, Any], swagger: dict[str, Any],
) -> None:
    token = actions(swagger)["AcquireAccessToken"]
    answered = token["responses"]["200"]["schema"]["properties"]
    assert {"accessToken", "access_token"} <= set(answered)
    assert "certified inQuba Journey connector" in answered["access_token"]["description"]
    request = document["components"]["schemas"]["TokenRequest"]["properties"]
    for certified, ours in CERTIFIED_TOKEN_FIELDS.items():
        assert request[certified]["x-alias-of"] == ours  # documented in the OpenAPI document
        assert certified not in body_schema(token)["properties"]  # one field per value in the designer
    assert set(CERTIFIED_TOKEN_FIELDS) == {"TenantName", "HostURL", "client_id", "client_secret"}


def test_the_migration_section_maps_each_certified_action_and_field() -> None:
    text = (ROOT / "docs" / "connector.md").read_text("utf-8")
    section = text.split("## Coming from the certified inQuba Journey connector", 1)[1].split("\n## ", 1)[0]
    for name in ("Acquire Access Token", "Create Event", "Create Transaction", "TenantName", "HostURL", "username",
                 "password", "client_id", "client_secret", "AuthorizationToken", "eventDefinitionCode",
                 "transactionDefinitionCode", "isTest", "code", "value", "access_token", "SuccessStatus"):
        assert f"`{name}`" in section or f"**{name}**" in section, name


def test_the_package_holds_the_definition_the_properties_and_the_readme() -> None:
    assert sorted(p.name for p in CONNECTOR_DIR.iterdir()) == ["apiDefinition.swagger.json", "apiProperties.json",
                                                                "readme.md"]
