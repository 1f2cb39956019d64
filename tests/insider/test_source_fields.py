"""The customer fields a mapping reads, as JSON schemas (the connector's dynamic schema of a customer)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from shared.insider.compiled_mapping import load_mapping, source_fields_schema
from shared.insider.mapper import MappedCustomer, map_customer
from shared.insider.mapping_store import DEFAULT_MAPPING_PATH
from shared.insider.values.converters import (
    ATTRIBUTE_CONVERTERS,
    IDENTIFIER_CONVERTERS,
    PARAM_CONVERTERS,
    VALUE_SCHEMAS,
)
from shared.insider.values.custom import to_custom_value
from shared.insider.values.text import to_id_string


def mapping_document() -> dict[str, Any]:
    """The default mapping, plus a custom identifier, a source read twice, and one read with two types."""
    document = json.loads(DEFAULT_MAPPING_PATH.read_text())
    document["identifiers"].append({"source": "loyalty_number", "insider": "loyalty_number", "custom": True})
    document["profile"].append({"source": "email", "insider": "email"})
    document["events"].append({"source": "refund", "insider": "refund_made", "params": [
        {"source": "quantity", "insider": "quantity_returned", "custom": True}]})
    return document


def test_attributes_are_the_identifier_and_profile_sources_with_their_types_and_targets() -> None:
    attributes = source_fields_schema(load_mapping(mapping_document()))["attributes"]
    assert attributes["type"] == "object"
    names = list(attributes["properties"])
    assert names[:3] == ["email", "phone", "loyalty_number"] and "id" not in names  # id: a customer field
    assert attributes["properties"]["email"] == {
        "type": "string", "format": "email", "description": "Sent to Insider as identifiers.email, attributes.email."}
    assert attributes["properties"]["loyalty_number"] == {
        "type": "string", "description": "Sent to Insider as identifiers.custom.loyalty_number."}
    assert attributes["properties"]["email_optin"]["type"] == "boolean"
    assert attributes["properties"]["birthday"]["format"] == "date-time"
    assert "type" not in attributes["properties"]["tier"]  # a custom value is sent as given: no one type


def test_event_params_are_every_mapped_events_sources_and_a_source_read_with_two_types_has_none() -> None:
    params = source_fields_schema(load_mapping(mapping_document()))["eventParams"]["properties"]
    assert params["category"] == {"type": "array", "items": {"type": "string"},
                                  "description": "Sent to Insider as event_params.taxonomy of purchase events."}
    assert params["price"]["type"] == "number"
    assert params["quantity"] == {"description": "Sent to Insider as event_params.quantity of purchase events, "
                                                 "event_params.custom.quantity_returned of refund events."}


def test_the_schemas_are_valid_and_accept_what_the_mapping_sends() -> None:
    mapping = load_mapping(mapping_document())
    schemas = source_fields_schema(mapping)
    customer = {"id": "c1", "attributes": {"email": "a@example.com", "loyalty_number": "L1", "email_optin": True,
                                           "tier": "Gold", "birthday": "1990-01-01T00:00:00Z"},
                "events": [{"name": "purchase", "timestamp": "2026-01-10T21:35:20Z", "params": {
                    "order_id": "O1", "product_id": "P1", "product_name": "Phone", "category": ["Phones"],
                    "currency": "USD", "quantity": 1, "price": 9.5, "sale_price": 9.0}}]}
    for name, value in (("attributes", customer["attributes"]), ("eventParams", customer["events"][0]["params"])):
        Draft202012Validator.check_schema(schemas[name])
        assert not list(Draft202012Validator(schemas[name]).iter_errors(value)), name
    assert isinstance(map_customer(mapping, customer), MappedCustomer)


def test_every_converter_the_mapper_uses_has_a_value_schema() -> None:
    custom = {to_id_string, to_custom_value}  # custom identifiers; custom attributes and parameters
    used = {*IDENTIFIER_CONVERTERS.values(), *ATTRIBUTE_CONVERTERS.values(), *PARAM_CONVERTERS.values(), *custom}
    assert used <= set(VALUE_SCHEMAS)
