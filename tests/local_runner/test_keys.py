"""Key enforcement: pure checks here, over HTTP in test_http.py."""

from __future__ import annotations

import pytest
from azure.functions import AuthLevel

from local_runner.keys import Keys, is_authorized, normalize_level, presented_key

KEYS = Keys(function_key="fn-key", master_key="master-key")


@pytest.mark.parametrize(("level", "key", "allowed"), [
    ("anonymous", None, True),
    ("anonymous", "wrong", True),
    ("function", None, False),
    ("function", "", False),
    ("function", "wrong", False),
    ("function", "fn-key", True),
    ("function", "master-key", True),
    ("admin", "fn-key", False),
    ("admin", "master-key", True),
    ("admin", None, False),
])
def test_is_authorized(level: str, key: str | None, allowed: bool) -> None:
    assert is_authorized(level, key, KEYS) is allowed


def test_presented_key_prefers_header_over_code() -> None:
    assert presented_key({"X-Functions-Key": "h"}, {"code": "q"}) == "h"
    assert presented_key({}, {"code": "q"}) == "q"
    assert presented_key({}, {"Code": "q"}) == "q"
    assert presented_key({}, {}) is None


def test_normalize_level() -> None:
    assert normalize_level(AuthLevel.ANONYMOUS) == "anonymous"
    assert normalize_level("Function") == "function"
    assert normalize_level(None) == "function"
    with pytest.raises(ValueError):
        normalize_level("system-ish")


def test_keys_from_settings() -> None:
    assert Keys.from_settings({}) == Keys("local-dev-function-key", "local-dev-master-key")
    assert Keys.from_settings({"LOCAL_FUNCTION_KEY": "a", "LOCAL_MASTER_KEY": "b"}) == Keys("a", "b")
