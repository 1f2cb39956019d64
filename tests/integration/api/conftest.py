"""The OpenAPI document of the real app and the connector's Swagger 2.0 derived from it, built once."""

from __future__ import annotations

from typing import Any

import pytest

import function_app
from scripts import generate_api_docs as generator
from shared.web.openapi import build_openapi


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    return build_openapi(function_app.app)


@pytest.fixture(scope="session")
def swagger(document: dict[str, Any]) -> dict[str, Any]:
    return generator.connector_swagger(document)
