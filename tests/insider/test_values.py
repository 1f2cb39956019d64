"""Each value rule: what it accepts, how it normalises, what it rejects (and under which rule)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shared.insider import names
from shared.insider.values import ABSENT, ValueRejected, converters, custom, datetimes, numbers, text


def _rejects(convert: Any, value: Any, rule: str) -> None:
    with pytest.raises(ValueRejected) as caught:
        convert(value)
    assert caught.value.rule == rule
    assert caught.value.message


def test_converter_tables_cover_every_default_name() -> None:
    assert set(converters.ATTRIBUTE_CONVERTERS) == set(names.DEFAULT_ATTRIBUTES)
    assert set(converters.PARAM_CONVERTERS) == set(names.DEFAULT_EVENT_PARAMS)
    assert set(converters.IDENTIFIER_CONVERTERS) == set(names.DEFAULT_IDENTIFIERS)
    assert len(names.DEFAULT_ATTRIBUTES) == 18
    assert len(names.DEFAULT_EVENT_PARAMS) == 23


# -- RFC 3339 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2021-01-10T21:35:20Z",
        "2021-01-17T14:41:21+03:00",
        "2021-01-17T14:41:21-05:30",
        "2021-01-17T14:41:21.123456Z",
        "2020-02-29T00:00:00Z",
    ],
)
def test_event_timestamp_accepts_rfc3339_as_given(value: str) -> None:
    assert datetimes.to_rfc3339(value) == value
    assert datetimes.to_rfc3339(f"  {value}\n") == value  # surrounding whitespace is trimmed


@pytest.mark.parametrize(
    "value",
    [
        "2021-01-10",  # a date is not a timestamp
        "2021-01-10T21:35Z",  # seconds required
        "2021-01-10 21:35:20Z",  # space separator
        "2021-01-10t21:35:20z",  # lowercase
        "2021-01-10T21:35:20",  # no offset
        "2021-01-10T21:35:20+0300",  # offset without colon
        "2021-13-10T21:35:20Z",
        "2021-02-30T21:35:20Z",
        "2021-01-10T24:00:00Z",
        "2021-01-10T23:59:60Z",  # leap second: Go's RFC 3339 parser refuses it too
        "2021-01-10T21:35:20+24:00",
        "20210110T213520Z",  # ISO 8601 basic format
        "2021-01-10T21:35:20Z trailing",
        1610314520,
        True,
    ],
)
def test_event_timestamp_rejects(value: Any) -> None:
    _rejects(datetimes.to_rfc3339, value, "rfc3339")


def test_blank_timestamp_is_absent() -> None:
    assert datetimes.to_rfc3339("  ") is ABSENT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-01-01", "1990-01-01T00:00:00Z"),
        ("1993-03-12T00:00:00Z", "1993-03-12T00:00:00Z"),
        ("1990-01-01T03:00:00+03:00", "1990-01-01T00:00:00Z"),
        ("1990-01-01T00:00:00+03:00", "1989-12-31T21:00:00Z"),  # converting can move the day
        ("1990-01-01T22:30:00-02:00", "1990-01-02T00:30:00Z"),
        ("1990-01-01T00:00:00+00:00", "1990-01-01T00:00:00Z"),
        ("1990-01-01T00:00:00.250+01:00", "1989-12-31T23:00:00.250Z"),
        (" 2000-02-29 ", "2000-02-29T00:00:00Z"),
    ],
)
def test_birthday_becomes_utc_z(value: str, expected: str) -> None:
    assert datetimes.to_rfc3339_utc(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1990-02-30",
        "1990-1-1",
        "01/02/1990",
        "1990-01-01T00:00:00",
        "2001-02-29",
        19900101,
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_birthday_rejects(value: Any) -> None:
    _rejects(datetimes.to_rfc3339_utc, value, "rfc3339-utc")


# -- phone, email -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+6598765432", "+6598765432"),
        ("+65 9876 5432", "+6598765432"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44-20-7946-0958", "+442079460958"),
        (" +4915112345678 ", "+4915112345678"),
    ],
)
def test_e164_normalises(value: str, expected: str) -> None:
    assert text.to_e164(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "98765432",  # no country code: never guessed
        "0044 20 7946 0958",  # no international prefix guessing either
        "+0 123456789",
        "+12345",  # too short
        "+1234567890123456",  # too long
        "+65.9876.5432",  # dots are not stripped
        "+65 9876 543a",
        "+٦٥٩٨٧٦٥٤٣٢",  # non-ASCII digits
        6598765432,
    ],
)
def test_e164_rejects(value: Any) -> None:
    _rejects(text.to_e164, value, "e164")


def test_blank_phone_is_absent() -> None:
    assert text.to_e164(" - ") is ABSENT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@b.co", "a@b.co"),
        (" Sample@UseInsider.com ", "Sample@UseInsider.com"),
        ("x.y+z@sub.domain.org", "x.y+z@sub.domain.org"),
    ],
)
def test_email_accepts_insider_rule_and_keeps_case(value: str, expected: str) -> None:
    assert text.to_email(value) == expected


@pytest.mark.parametrize("value", ["sample", "a@b", "@b.c", "a@.", "a@b.c\nx", 5])
def test_email_rejects(value: Any) -> None:
    _rejects(text.to_email, value, "email")


# -- country, language, currency, url -------------------------------------------------------------


def test_country_list_is_the_assigned_iso_3166_alpha2_set() -> None:
    assert len(text.COUNTRY_CODES) == 249
    assert {"GB", "US", "SG", "TR", "AX", "SS", "BQ", "CW", "SX"} <= text.COUNTRY_CODES
    assert all(len(code) == 2 and code.isascii() and code.isupper() for code in text.COUNTRY_CODES)


@pytest.mark.parametrize(("value", "expected"), [("gb", "GB"), (" Sg ", "SG"), ("US", "US")])
def test_country_uppercases(value: str, expected: str) -> None:
    assert text.to_country(value) == expected


@pytest.mark.parametrize("value", ["UK", "EU", "XK", "ZZ", "USA", "United Kingdom", 1])
def test_country_rejects(value: Any) -> None:
    _rejects(text.to_country, value, "iso3166-alpha2")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en_US", "en_US"),
        ("en-US", "en_US"),
        ("en_us", "en_US"),
        ("EN-gb", "en_GB"),
        ("en", "en"),
        ("es-419", "es_419"),
        ("zh-hant-tw", "zh_Hant_TW"),
        ("fil-PH", "fil_PH"),
    ],
)
def test_language_normalises(value: str, expected: str) -> None:
    assert text.to_language(value) == expected


@pytest.mark.parametrize("value", ["english", "en US", "en-USA", "e", "en_", 1])
def test_language_rejects(value: Any) -> None:
    _rejects(text.to_language, value, "language")


@pytest.mark.parametrize(("value", "expected"), [("USD", "USD"), ("eur", "EUR"), (" try ", "TRY")])
def test_currency_uppercases(value: str, expected: str) -> None:
    assert text.to_currency(value) == expected


@pytest.mark.parametrize("value", ["US", "EURO", "$", "U5D", 840])
def test_currency_rejects(value: Any) -> None:
    _rejects(text.to_currency, value, "iso4217")


@pytest.mark.parametrize("value", ["https://academy.useinsider.com/", "http://x.y/z?a=1", "myapp://product/42"])
def test_url_accepts_absolute_urls(value: str) -> None:
    assert text.to_url(value) == value


@pytest.mark.parametrize("value", ["/relative/path", "academy.useinsider.com", "https://a b", 3])
def test_url_rejects(value: Any) -> None:
    _rejects(text.to_url, value, "url")


# -- booleans and numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("False", False),
        ("1", True),
        ("0", False),
        ("YES", True),
        (" no ", False),
        (1, True),
        (0, False),
    ],
)
def test_boolean_accepts(value: Any, expected: bool) -> None:
    assert numbers.to_boolean(value) is expected


@pytest.mark.parametrize("value", ["y", "on", "2", 2, 1.0, [True]])
def test_boolean_rejects(value: Any) -> None:
    _rejects(numbers.to_boolean, value, "boolean")


@pytest.mark.parametrize(("value", "expected"), [(30, 30), ("30", 30), (" 30 ", 30), (30.0, 30), ("+7", 7)])
def test_integer_accepts(value: Any, expected: int) -> None:
    result = numbers.to_integer(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", ["30.5", 30.5, "thirty", True, math.inf, math.nan, "1e3", [1]])
def test_integer_rejects(value: Any) -> None:
    _rejects(numbers.to_integer, value, "integer")


def test_age_is_a_non_negative_integer() -> None:
    assert numbers.to_age("0") == 0
    _rejects(numbers.to_age, -1, "integer")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(990.9, 990.9), (10, 10), ("990.90", 990.9), ("10", 10), ("-2.5", -2.5), ("1e2", 100.0), (".5", 0.5)],
)
def test_number_accepts(value: Any, expected: float) -> None:
    result = numbers.to_number(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("value", ["990,90", "abc", math.nan, math.inf, "inf", "nan", True, None, [1]])
def test_number_rejects(value: Any) -> None:
    _rejects(numbers.to_number, value, "number")


@pytest.mark.parametrize(
    ("value", "expected"),
    [([1, 2], [1, 2]), (["1", 2], [1, 2]), (3, [3]), ("4", [4]), ((5, 6), [5, 6]), ([], [])],
)
def test_int_list_accepts_lists_and_single_values(value: Any, expected: list[int]) -> None:
    assert numbers.to_int_list(value) == expected


@pytest.mark.parametrize("value", [[1, "x"], [1, None], "1,2", [1.5], {"a": 1}, [True]])
def test_int_list_rejects(value: Any) -> None:
    _rejects(numbers.to_int_list, value, "integer-list")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["Electronic", "Phone"], ["Electronic", "Phone"]), ("Shoes", ["Shoes"]), ((), [])],
)
def test_string_list_accepts(value: Any, expected: list[str]) -> None:
    assert text.to_string_list(value) == expected


@pytest.mark.parametrize("value", [["a", 1], 5, {"a": "b"}])
def test_string_list_rejects(value: Any) -> None:
    _rejects(text.to_string_list, value, "string-list")


# -- strings and IDs ------------------------------------------------------------------------------


def test_strings_are_trimmed_and_blank_is_absent() -> None:
    assert text.to_string("  Ann ") == "Ann"
    assert text.to_string("   ") is ABSENT
    _rejects(text.to_string, 5, "string")


def test_ids_accept_integers_as_decimal_strings() -> None:
    assert text.to_id_string(12345) == "12345"
    assert text.to_id_string(" ab1 ") == "ab1"
    for bad in (True, 1.5, ["a"], {"a": 1}):
        _rejects(text.to_id_string, bad, "string")


def test_text_sends_numbers_as_strings() -> None:
    assert text.to_text(4.99) == "4.99"
    assert text.to_text(5) == "5"
    assert text.to_text("free") == "free"
    _rejects(text.to_text, True, "string")


# -- custom values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["Gold", "", 3, 2.5, True, False, ["green"], [1, "a", True, 2.5], [], "2023-11-29T23:00:00+03:00"],
)
def test_custom_values_pass_through(value: Any) -> None:
    assert custom.to_custom_value(value) == value


def test_custom_tuple_becomes_a_list() -> None:
    assert custom.to_custom_value(("a", "b")) == ["a", "b"]


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, [{"a": 1}], [[1]], [None], math.nan, [math.inf], object(), b"bytes", {1, 2}],
)
def test_custom_values_reject_nested_and_non_json(value: Any) -> None:
    _rejects(custom.to_custom_value, value, "custom-value")


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("first_name", "first_name"),
        ("FirstName", "first_name"),
        ("firstName", "first_name"),
        ("homepageView", "homepage_view"),
        ("HTTPStatus", "http_status"),
        ("userID", "user_id"),
        (" Total Points ", "total_points"),
        ("order-id", "order_id"),
        ("a - b", "a_b"),
        ("Points2Go", "points2_go"),
        ("prénom", "prénom"),
    ],
)
def test_normalise_name(name: str, expected: str) -> None:
    assert names.normalise_name(name) == expected


def test_name_rules() -> None:
    assert names.is_custom_name("loyalty_tier")
    assert names.is_custom_name("2fa_enabled")
    for bad in ("_x", "Loyalty", "a-b", "a.b", "", "prénom", "a\n", 5):
        assert not names.is_custom_name(bad)
    assert names.is_event_name("homepage_view")
    for bad in ("homepageView", "page.view", "page-view", "_view", ""):
        assert not names.is_event_name(bad)
