"""Fixtures of the infra checks: infra/ parsed once per session by pycep (see helpers.parse_folder)."""

from __future__ import annotations

import pytest

from tests.infra.helpers import INFRA, parse_folder


@pytest.fixture(scope="session")
def parsed() -> dict[str, dict]:
    """pycep's result per .bicep file: {"template": ...} or {"error": ...}."""
    return parse_folder(INFRA)


@pytest.fixture(scope="session")
def templates(parsed: dict[str, dict]) -> dict[str, dict]:
    """The parsed templates, keyed by path relative to infra/ (fails if any file does not parse)."""
    broken = {name: entry["error"] for name, entry in parsed.items() if "error" in entry}
    assert not broken, f"Bicep files that do not parse: {broken}"
    return {name: entry["template"] for name, entry in parsed.items()}
