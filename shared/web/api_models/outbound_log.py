"""The outbound log search: query parameters, entries and pages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    WithJsonSchema,
)

from shared.identifiers import (
    WHITESPACE_PATTERN,
)
from shared.web.api_models.common import ApiModel

# --- Outbound log -------------------------------------------------------------------------------------------------


_S = WHITESPACE_PATTERN
Blank = Annotated[str, Field(pattern=f"^{_S}*$")]
# A time: an RFC 3339 date-time, or a date (its start); parse_query also takes a date-time without an offset (UTC).
Moment = Annotated[str, WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"},
                                                  {"type": "string", "format": "date"},
                                                  {"type": "string", "pattern": f"^{_S}*$"}]})]
# Opaque: the continuationToken of a previous page (its filters signed in), which no generator can make.
ContinuationToken = Annotated[str, WithJsonSchema({"type": "string", "format": "continuation-token"})]


class LogQueryParameters(ApiModel):
    """Query parameters of GET /outbound-logs (parsed by shared/outbound_log/query.parse_query).

    A parameter given empty (or blank) is absent, so the patterns take blanks too.
    """

    # Lengths are checked after surrounding spaces are stripped, which JSON Schema cannot say: in descriptions.
    identifier: str | None = Field(None, description="Entries of this request identifier (at most 256 characters).")
    customer_id: str | None = Field(None, alias="customerId", description="Entries of this customer, batched "
                                    "Insider requests included (at most 256 characters).")
    error: str | None = Field(None, description="Entries whose error contains this text (at most 500 characters).")
    status_code: str | None = Field(None, alias="statusCode",
                                    pattern=f"^{_S}*([1-5][0-9][0-9]|[1-5][xX][xX]|[Nn][Oo][Nn][Ee])?{_S}*$",
                                    description="A status code (404), a class (5xx) or none (no response).")
    target: str | None = Field(None, pattern=f"^{_S}*([Ii][Nn][Qq][Uu][Bb][Aa]|[Ii][Nn][Ss][Ii][Dd][Ee][Rr])?{_S}*$",
                               description="inquba or insider.")
    from_: Moment | None = Field(None, alias="from", description="Entries at or after this time, not later than "
                                 "to: an RFC 3339 date-time (2026-03-01T00:00:00Z), or a date (its start, UTC); a "
                                 "date-time without an offset is UTC.")
    to: Moment | None = Field(None, description="Entries at or before this time, as from.")
    limit: Annotated[int, Field(ge=1, le=200)] | Blank | None = Field(None, description="Entries per page, 1 to 200 "
                                                                                       "(50).")
    continuation_token: ContinuationToken | None = Field(
        None, alias="continuationToken", description="The continuationToken of the previous page, with the same "
        "filters: an opaque value that only this API issues; any other is a 400.")


class LogEntrySummary(ApiModel):
    id: str = Field(description="The entry id.")
    timestamp: str = Field(description="When the call was sent (ISO 8601, UTC).")
    target: str | None = Field(description="inquba or insider.")
    operation: str | None = Field(description="token, event, transaction or upsert.")
    method: str | None = Field(description="The HTTP method.")
    url: str | None = Field(description="The upstream URL.")
    customer_id: str | None = Field(alias="customerId", description="The customer, when known.")
    customer_name: str | None = Field(alias="customerName", description="The customer's name, when known.")
    status_code: int | None = Field(alias="statusCode", description="The upstream status; null when none came.")
    response_time_seconds: float | None = Field(alias="responseTimeSeconds", description="Response time.")
    error: str | None = Field(description="The error, if any.")
    identifier: str | None = Field(description="The request identifier.")
    attempt: int | None = Field(description="The attempt number.")
    customer_count: int | None = Field(alias="customerCount", description="Customers in a batched request.")
    erased_at: str | None = Field(alias="erasedAt", description="When the customer's personal data was removed "
                                                                "from the entry (an erasure); null otherwise.")


class LogPage(ApiModel):
    items: list[LogEntrySummary] = Field(description="Entries, newest first.")
    continuation_token: str | None = Field(alias="continuationToken", description="Pass it to get the next page.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read for this page.")


class LogEntry(LogEntrySummary):
    request_body: str | None = Field(alias="requestBody", description="The request body (secrets redacted).")
    response_body: str | None = Field(alias="responseBody", description="The response body (secrets redacted).")
    request_body_scope: Literal["request", "customer"] = Field(
        alias="requestBodyScope", description="customer when the body is this customer's slice of a batch.")
    response_body_scope: Literal["request", "customer"] = Field(alias="responseBodyScope",
                                                                description="As requestBodyScope.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read.")
