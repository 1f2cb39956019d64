"""Shared by every model module: the base model, limits, problem+json and health."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.identifiers import (
    MAX_CUSTOMER_ID_CHARS,
)

MAX_BATCH_ITEMS = 1000
MAX_SYNC_CUSTOMERS = 100
MAX_ASYNC_CUSTOMERS = 10_000
MAX_CUSTOMER_ID_LENGTH = MAX_CUSTOMER_ID_CHARS  # and 500 once percent-encoded: identifiers.customer_id_problem
MAX_CUSTOMER_NAME_LENGTH = 256
MAX_CUSTOMER_CHARS = 30_000  # with mode=async a customer is stored as one table property while its request is tracked


class ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


def item_errors(model: type[BaseModel], problems: list[tuple[tuple[int | str, ...], str]]) -> ValidationError | None:
    """Rules across the items of a list (a repeated id): the field validator's ValidationError, its locations
    below the list's own (pydantic prefixes the field), or None."""
    if not problems:
        return None
    return ValidationError.from_exception_data(model.__name__, [
        InitErrorDetails(type=PydanticCustomError("item", message), loc=loc, input=None) for loc, message in problems])


# --- Errors ---------------------------------------------------------------------------------------------------


class FieldProblem(ApiModel):
    field: str = Field(description="The bad field: a dotted path with [index] for items, a header, or `body`.")
    message: str = Field(description="What is wrong with it.")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), the shape of every error the app answers."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="Problem type; always about:blank.")
    title: str = Field(description="The HTTP status text.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong, in a sentence.")
    errors: list[FieldProblem] | None = Field(None, description="Every bad field (400, 412, 415, 428).")


class UpstreamProblem(ProblemDetails):
    """inQuba refused, throttled or did not answer (502, 503, 504)."""

    identifier: str | None = Field(None, description="The item's identifier (null for token requests).")
    operation: Literal["token", "event", "transaction"] = Field(description="The upstream call that failed.")
    upstream_status: int | None = Field(
        None, alias="upstreamStatus", description="inQuba's status code; null on a network error or timeout."
    )
    upstream_body: str | None = Field(None, alias="upstreamBody", description="inQuba's answer (secrets redacted).")
    hint: str | None = Field(None, description="What inQuba's documented status means (401, 404, 500).")


# --- Health ---------------------------------------------------------------------------------------------------


class HealthChecks(ApiModel):
    blob: str = Field(description="`ok`, or why blob storage did not answer.")
    queue: str = Field(description="`ok`, or why queue storage did not answer.")
    table: str = Field(description="`ok`, or why table storage did not answer.")


class HealthReport(ApiModel):
    status: Literal["healthy", "unhealthy"] = Field(description="healthy when every storage check is ok.")
    version: str = Field(description="The app's version.")
    checks: HealthChecks = Field(description="Each storage service's check.")
