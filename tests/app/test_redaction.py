from __future__ import annotations

import json

from shared.redaction import REDACTED, Redactor


def test_form_body_secrets_are_masked_by_key() -> None:
    body = "username=u&password=pw1234&grant_type=password&client_id=c&scope=openid+cx_api&client_secret=sec5678"
    out = Redactor().body(body, "application/x-www-form-urlencoded")
    assert "pw1234" not in out and "sec5678" not in out
    assert "username=u" in out and "client_id=c" in out


def test_json_secrets_are_masked_at_any_depth_but_attribute_codes_stay() -> None:
    body = json.dumps({"access_token": "tok-abc", "nested": [{"X-REQUEST-TOKEN": "k"}],
                       "attributes": [{"code": "Mobile", "value": "27"}]})
    out = json.loads(Redactor().body(body, "application/json") or "")
    assert out["access_token"] == REDACTED
    assert out["nested"][0]["X-REQUEST-TOKEN"] == REDACTED
    assert out["attributes"] == [{"code": "Mobile", "value": "27"}]


def test_known_secret_values_are_masked_anywhere() -> None:
    redactor = Redactor(["canary-secret-value"])
    redactor.add_secret("live-token-9999")
    text = "error: bad client canary-secret-value with Bearer live-token-9999"
    assert redactor.text(text) == f"error: bad client {REDACTED} with Bearer {REDACTED}"


def test_headers_are_masked_by_name() -> None:
    out = Redactor().headers({"Authorization": "Bearer x", "X-PARTNER-NAME": "brand", "x-request-token": "k"})
    assert out == {"Authorization": REDACTED, "X-PARTNER-NAME": "brand", "x-request-token": REDACTED}


def test_a_calls_private_values_are_masked_in_its_bodies_and_text_only() -> None:
    base = Redactor(["s3cret-value"])
    wider = base.including(["12", "ada@example.com", "+27820000000"])
    body = wider.body('{"identifiers": {"uuid": "12", "email": "ada@example.com"}, "n": "120"}', "application/json")
    assert json.loads(body or "") == {"identifiers": {"uuid": REDACTED, "email": REDACTED}, "n": "120"}
    assert wider.text("user 12 at ada@example.com, +27820000000, s3cret-value") == (
        f"user 12 at {REDACTED}, {REDACTED}, {REDACTED}")
    assert base.text("ada@example.com") == "ada@example.com"  # the shared redactor is left as it was
