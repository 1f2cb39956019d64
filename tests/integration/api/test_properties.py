"""Property tests of the parsers (hypothesis): whatever arrives, they answer a value or their one error type.

- attribute lists and maps (inquba_models): a model or a ValidationError; both forms agree; wire values are text
- mapping documents (compiled_mapping.load_mapping): a compiled mapping or MappingInvalid, never anything else
- identifiers: the Python check and the models' pattern agree; a customer id that passes fits a Table key
- request parsing (read_json, parse_model): a value or a Problem (400/413/415), and a value always encodes
- the outbound log's query parameters (parse_query): a query or a 400 Problem; tokens round-trip
"""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.identifiers import (
    IDENTIFIER_PATTERN,
    MAX_CUSTOMER_ID_KEY_CHARS,
    customer_id_problem,
    is_valid_identifier,
    new_identifier,
)
from shared.inquba.models import MAX_ATTRIBUTES, EventRequest, TokenRequest, TransactionRequest, attribute_text
from shared.insider.compiled_mapping import CompiledMapping, load_mapping
from shared.insider.mapper import RejectedCustomer, map_customer
from shared.insider.mapping_checks import MappingInvalid
from shared.insider.mapping_store import DEFAULT_MAPPING_PATH
from shared.insider.routes import parse_customers
from shared.outbound_log.query import MAX_LIMIT, LogQuery, _Cursor, decode_token, encode_token, parse_query, plan
from shared.outbound_log.writer import customer_index_key, new_entry_id
from shared.web.api_models import (
    EventBatchRequest,
    InsiderAttributesDeleteRequest,
    InsiderEraseRequest,
    InsiderProfileRequest,
    InsiderSyncRequest,
    PreviewRequest,
)
from shared.web.parsing import MAX_JSON_DEPTH, parse_model, read_json
from shared.web.problems import Problem

# Deterministic by default; PROPERTY_EXAMPLES=5000 PROPERTY_RANDOM=1 explores further with fresh seeds.
PROPERTY = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "300")), deadline=None,
                    derandomize="PROPERTY_RANDOM" not in os.environ, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

any_text = st.text(st.characters(codec="utf-8"), max_size=40)
surrogate_text = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5), max_leaves=25
)
attribute_scalars = st.booleans() | st.integers(-(10**30), 10**30) | any_text | st.decimals(
    allow_nan=False, allow_infinity=False, places=3
)


# --- Attributes -------------------------------------------------------------------------------------------------


@PROPERTY
@given(attributes=json_values)
def test_any_attributes_give_a_model_or_a_validation_error(attributes: Any) -> None:
    try:
        item = EventRequest.model_validate({"eventDefinitionCode": "E", "attributes": attributes})
    except ValidationError:
        return
    wire = item.wire_attributes()
    assert len(wire) <= MAX_ATTRIBUTES
    assert all(isinstance(a["code"], str) and isinstance(a["value"], str) for a in wire)


@PROPERTY
@given(pairs=st.dictionaries(st.text(min_size=1, max_size=20), attribute_scalars, max_size=20))
def test_the_list_and_map_forms_agree_and_values_become_text(pairs: dict[str, Any]) -> None:
    as_map = EventRequest.model_validate({"eventDefinitionCode": "E", "attributes": pairs})
    as_list = EventRequest.model_validate(
        {"eventDefinitionCode": "E", "attributes": [{"code": c, "value": v} for c, v in pairs.items()]}
    )
    assert as_map.wire_attributes() == as_list.wire_attributes()
    for attribute, (code, value) in zip(as_map.wire_attributes(), pairs.items(), strict=True):
        assert attribute["code"] == code
        expected = {True: "true", False: "false"}[value] if isinstance(value, bool) else str(value)
        assert attribute["value"] == expected == attribute_text(value)


@PROPERTY
@given(number=st.decimals(allow_nan=False, allow_infinity=False))
def test_numbers_are_sent_as_written(number: Decimal) -> None:
    text = str(number)
    body = json.loads(f'{{"eventDefinitionCode": "E", "attributes": {{"n": {text}}}}}', parse_float=Decimal)
    assert EventRequest.model_validate(body).wire_attributes() == [{"code": "n", "value": str(body["attributes"]["n"])}]


def test_more_than_the_attribute_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_ATTRIBUTES} attributes"):
        EventRequest.model_validate({"eventDefinitionCode": "E", "attributes": {str(i): i for i in range(201)}})


# --- Mapping documents ------------------------------------------------------------------------------------------

DEFAULT_MAPPING = json.loads(DEFAULT_MAPPING_PATH.read_text())


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


MAPPING_PATHS = _paths(DEFAULT_MAPPING)


@st.composite
def mutated_mappings(draw: st.DrawFn) -> Any:
    """The default mapping with a few nodes replaced by arbitrary JSON (or deleted): near-valid documents."""
    document = copy.deepcopy(DEFAULT_MAPPING)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(MAPPING_PATHS))
        if not path:
            return draw(json_values)
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values | st.sampled_from(["id", "email", "uuid", "purchase", True, []]))
        except (KeyError, IndexError, TypeError):
            continue
    return document


def _load(document: Any) -> CompiledMapping | None:
    try:
        return load_mapping(document)
    except MappingInvalid as exc:
        assert exc.errors and all(set(e) == {"path", "message"} for e in exc.errors)
        assert all(e["path"] == "" or e["path"].startswith("/") for e in exc.errors)
        return None


@PROPERTY
@given(document=json_values)
def test_any_json_is_a_mapping_or_mapping_invalid(document: Any) -> None:
    _load(document)


@PROPERTY
@given(document=mutated_mappings())
def test_near_valid_mappings_load_or_raise_mapping_invalid_and_round_trip(document: Any) -> None:
    mapping = _load(document)
    if mapping is not None:
        canonical = mapping.to_document()
        assert load_mapping(canonical).to_document() == canonical


@PROPERTY
@given(customer=json_values | st.fixed_dictionaries(
    {"id": any_text}, optional={"attributes": st.dictionaries(st.sampled_from(
        ["email", "phone", "first_name", "birthday", "tier", "gender", "email_optin", "x"]), json_values),
        "events": json_values}))
def test_mapping_a_customer_never_raises(customer: Any) -> None:
    outcome = map_customer(load_mapping(DEFAULT_MAPPING), customer)
    if isinstance(outcome, RejectedCustomer):
        assert outcome.errors and all({"field", "rule", "message"} <= set(e) for e in outcome.errors)


# --- Identifiers ------------------------------------------------------------------------------------------------


@PROPERTY
@given(value=any_text | st.from_regex(IDENTIFIER_PATTERN, fullmatch=True) | st.from_regex(
    IDENTIFIER_PATTERN[:-1] + r"\n?$", fullmatch=True))
def test_the_identifier_check_and_the_models_pattern_agree(value: str) -> None:
    try:
        EventRequest.model_validate({"eventDefinitionCode": "E", "identifier": value})
        by_model = True
    except ValidationError:
        by_model = False
    assert is_valid_identifier(value) == by_model
    if by_model:
        assert 1 <= len(value) <= 128 and value.isascii() and value.isprintable()


def test_new_identifiers_are_valid_and_sortable() -> None:
    identifiers = [new_identifier() for _ in range(100)]
    assert all(is_valid_identifier(i) for i in identifiers)
    assert len(set(identifiers)) == 100


@PROPERTY
@given(value=st.text(st.characters(codec="utf-8"), max_size=300))
def test_a_customer_id_that_passes_fits_a_table_key(value: str) -> None:
    problem = customer_id_problem(value)
    if problem is None:
        partition, row = customer_index_key(value, new_entry_id(0))  # the outbound log's customer index
        assert len(row) <= 512 and len(partition) <= 512  # a Table key holds 512 UTF-16 code units
        assert len("C|" + quote(value, safe="")) <= 2 + MAX_CUSTOMER_ID_KEY_CHARS <= 512  # its older partitions
    else:
        assert len(value) > 256 or len(quote(value, safe="")) > MAX_CUSTOMER_ID_KEY_CHARS


# --- Request parsing --------------------------------------------------------------------------------------------


def _request(body: bytes, content_type: str | None = "application/json") -> func.HttpRequest:
    headers = {"content-type": content_type} if content_type is not None else {}
    return func.HttpRequest("POST", "http://localhost/api/x", headers=headers, body=body)


json_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.lists(surrogate_text | any_text, min_size=1, max_size=4).map(lambda v: json.dumps(v).encode()),  # "\ud800"
    st.integers(1, 60).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    st.integers(1, 60).map(lambda depth: ('{"a":' * depth + "1" + "}" * depth).encode()),
    st.binary(max_size=200),
    st.text(max_size=50).map(lambda t: t.encode()),
    st.sampled_from([b"", b"1" * 5000, b"1e999999", b"-0", b"NaN", b"Infinity", b"\xef\xbb\xbf{}", b'"\\u0000"']),
)
content_types = st.none() | st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json",
     "text/plain", "application/x-www-form-urlencoded", ""]) | any_text


@PROPERTY
@given(body=json_texts, content_type=content_types, limit=st.integers(1, 10_000))
def test_read_json_answers_a_value_or_a_problem(body: bytes, content_type: str | None, limit: int) -> None:
    try:
        value = read_json(_request(body, content_type), limit)
    except Problem as problem:
        assert problem.status in (400, 413, 415)
        assert problem.detail and all(e.field and e.message for e in problem.errors)
        assert problem.errors or problem.status == 413  # 413 says the size and the limit in its detail
        return
    assert len(body) <= limit
    json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")  # every later encode can succeed

    def depth(node: Any) -> int:
        if isinstance(node, dict | list):
            children = node.values() if isinstance(node, dict) else node
            return 1 + max((depth(c) for c in children), default=0)
        return 1

    assert depth(value) <= MAX_JSON_DEPTH


@PROPERTY
@given(value=json_values, model=st.sampled_from([EventRequest, TransactionRequest, TokenRequest, EventBatchRequest,
                                                 InsiderSyncRequest, PreviewRequest, InsiderEraseRequest,
                                                 InsiderAttributesDeleteRequest, InsiderProfileRequest]))
def test_parse_model_answers_a_model_or_a_400(value: Any, model: type) -> None:
    try:
        parse_model(model, value)
    except Problem as problem:
        assert problem.status == 400 and problem.errors


@PROPERTY
@given(body=json_values, limit=st.sampled_from([100, 10_000]))
def test_insider_customers_are_a_list_or_a_400(body: Any, limit: int) -> None:
    try:
        customers = parse_customers(body, InsiderSyncRequest, limit).customers
    except Problem as problem:
        assert problem.status == 400 and problem.errors
        return
    assert 1 <= len(customers) <= limit


# --- The outbound log's search parameters -----------------------------------------------------------------------

PARAMETER_NAMES = ["identifier", "customerId", "error", "statusCode", "target", "from", "to", "limit",
                   "continuationToken", "other"]
parameter_values = st.one_of(
    any_text,
    st.sampled_from(["404", "5xx", "none", "NONE", " 2XX ", "600", "inquba", "Insider", "", " ", "²", "٣", "0",
                     "200", "201", "1" * 5000, "2026-01-31T12:00:00Z", "2026-01-31", "2026-13-01", "now"]),
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(-5, 500).map(str),
)


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(PARAMETER_NAMES), parameter_values, max_size=6))
def test_parse_query_answers_a_query_or_a_400(params: dict[str, str]) -> None:
    try:
        query = parse_query(params)
    except Problem as problem:
        assert problem.status == 400 and problem.errors
        assert {e.field for e in problem.errors} <= set(PARAMETER_NAMES)
        return
    assert 1 <= query.limit <= MAX_LIMIT
    assert plan(query, None)


@PROPERTY
@given(token=any_text | st.binary(max_size=80).map(lambda b: b.hex()), customer=st.none() | any_text)
def test_a_foreign_continuation_token_is_a_400(token: str, customer: str | None) -> None:
    params = {"continuationToken": token, **({"customerId": customer} if customer else {})}
    try:
        parse_query(params)
    except Problem as problem:
        assert problem.status == 400


@PROPERTY
@given(after=st.none() | st.from_regex(r"\d{13}-[0-9a-f]{10}", fullmatch=True), segment=st.integers(0, 1),
       customer=st.none() | st.text(min_size=1, max_size=30).filter(lambda t: t.strip() == t))
def test_issued_tokens_round_trip(after: str | None, segment: int, customer: str | None) -> None:
    query = LogQuery(customer_id=customer)
    token = encode_token(_Cursor(after, segment, None), query)
    assert decode_token(token, query) == _Cursor(after, segment, None)
    assert parse_query({"continuationToken": token, **({"customerId": customer} if customer else {})})
