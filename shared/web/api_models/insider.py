"""Insider sync, preview, mapping source fields and resume."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
)

from shared.identifiers import (
    NOT_BLANK_PATTERN,
    customer_id_problem,
)
from shared.web.api_models.common import (
    MAX_ASYNC_CUSTOMERS,
    MAX_CUSTOMER_CHARS,
    MAX_CUSTOMER_ID_LENGTH,
    MAX_CUSTOMER_NAME_LENGTH,
    MAX_SYNC_CUSTOMERS,
    ApiModel,
    FieldProblem,
    ProblemDetails,
    item_errors,
)

# --- Insider ----------------------------------------------------------------------------------------------------


class CustomerEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Source event name, as mapped in the Insider mapping.")
    timestamp: str = Field(description="When it happened, ISO 8601 (e.g. 2026-01-10T21:35:20Z).")
    params: dict[str, Any] | None = Field(
        None, description="Event parameters by source name; the designer lists those the stored mapping reads.")


class CustomerRecord(BaseModel):
    """A source customer as for sync, of which only the id, name and attributes are read (to find its identifiers).

    Other fields (a sync record's events) are taken and ignored.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=MAX_CUSTOMER_ID_LENGTH, pattern=NOT_BLANK_PATTERN,
                    description="The customer's id (source field `id`): not blank, and at most 500 characters "
                                "once percent-encoded as UTF-8.")
    name: str | None = Field(None, max_length=MAX_CUSTOMER_NAME_LENGTH,
                             description="A display name for the outbound log; not sent.")
    attributes: dict[str, Any] | None = Field(
        None, description="Profile attributes and identifiers by source name; the designer lists those the stored "
                          "mapping reads.")

    @field_validator("id")
    @classmethod
    def _table_key(cls, value: str) -> str:
        """The id becomes a Table key (outbound log partitions, batch items)."""
        if problem := customer_id_problem(value):
            raise ValueError(problem)
        return value


class Customer(CustomerRecord):
    """A source customer; its values are validated by the mapping, and a bad one is `rejected`, not a 400."""

    events: list[CustomerEvent] | None = Field(None, description="Events to send.")


# Documented as a Customer and taken as sent: the mapping validates it, and a bad one is `rejected`, not a 400.
CustomerAsSent = Annotated[Any, PlainValidator(lambda customer: customer, json_schema_input_type=Customer)]


def _table_keys(model: type[BaseModel], customers: list[Any]) -> list[Any]:
    """Ids and names become Table keys and properties: bounded in every mode, a 400 naming the customer's field."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for index, customer in enumerate(customers):
        if not isinstance(customer, dict):
            continue  # answered per customer as rejected
        customer_id, name = customer.get("id"), customer.get("name")
        if isinstance(customer_id, str) and (problem := customer_id_problem(customer_id)):
            problems.append(((index, "id"), problem))
        if isinstance(name, str) and len(name) > MAX_CUSTOMER_NAME_LENGTH:
            problems.append(((index, "name"), f"must be at most {MAX_CUSTOMER_NAME_LENGTH} characters"))
    if error := item_errors(model, problems):
        raise error
    return customers


class InsiderSyncRequest(ApiModel):
    """`{"customers": [...]}`; a single customer object on its own is taken too."""

    customers: list[CustomerAsSent] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS,
        description=f"1 to {MAX_SYNC_CUSTOMERS} customers ({MAX_ASYNC_CUSTOMERS:,} with mode=async, ids unique "
                    f"and each at most {MAX_CUSTOMER_CHARS:,} characters as JSON).",
    )

    @field_validator("customers")
    @classmethod
    def _keys(cls, customers: list[Any]) -> list[Any]:
        return _table_keys(cls, customers)


class SyncProblem(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str = Field(description="The source field (or customer, request, connection).")
    rule: str = Field(description="The rule that failed (type, required, email, http-503, insider, ...).")
    message: str = Field(description="What is wrong.")


class CustomerSyncResult(ApiModel):
    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: Literal["synced", "rejected", "failed", "unconfirmed"] = Field(
        description="synced, rejected (not sent), failed, or unconfirmed (Insider's reply did not show it applied)."
    )
    errors: list[SyncProblem] = Field(description="Why it was rejected, failed or is unconfirmed.")
    retryable: bool = Field(description="Whether sending it again may succeed (throttling, 5xx, timeout, pause, "
                                        "an unconfirmed reply); false for synced, rejected and per-user failures.")


class InsiderSyncResponse(ApiModel):
    identifier: str = Field(description="The upsert request's identifier (outbound log).")
    results: list[CustomerSyncResult] = Field(description="One result per customer, in input order.")


class InsiderPausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    identifier: str = Field(description="The request's identifier.")
    results: list[CustomerSyncResult] = Field(description="One result per customer, in input order.")


class InsiderSyncAccepted(ApiModel):
    request_id: str = Field(alias="requestId", description="The request id; poll GET /requests/{requestId}.")
    accepted: int = Field(description="How many customers were queued.")


class PreviewRequest(ApiModel):
    customers: list[CustomerAsSent] = Field(
        min_length=1, max_length=MAX_ASYNC_CUSTOMERS, description=f"1 to {MAX_ASYNC_CUSTOMERS:,} customers."
    )
    mapping: dict[str, Any] | None = Field(None, description="A mapping to try instead of the stored one (absent or "
                                                             "null: the stored one).")

    @field_validator("customers")
    @classmethod
    def _keys(cls, customers: list[Any]) -> list[Any]:
        return _table_keys(cls, customers)


class PreviewResult(ApiModel):
    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: Literal["valid", "rejected"] = Field(description="valid (would be sent) or rejected.")
    errors: list[SyncProblem] = Field(description="Why it would be rejected.")
    warnings: list[SyncProblem] | None = Field(None, description="Values that would be dropped.")


class PreviewResponse(ApiModel):
    requests: list[dict[str, Any]] = Field(description="The exact upsert bodies that would be sent.")
    results: list[PreviewResult] = Field(description="One result per customer, in input order.")
    mapping_warnings: list[FieldProblem] = Field(
        alias="mappingWarnings",
        description="What the mapping sends that the app cannot check (a default: true attribute it does not "
        "list, arrays of both append modes); field is a JSON Pointer into the mapping.",
    )


class ResumeResponse(ApiModel):
    resumed: bool = Field(description="true when sending was paused and is now resumed.")


class FieldsSchema(ApiModel):
    """A JSON schema of an object: one property per source field."""

    type: Literal["object"] = Field(description="Always object.")
    properties: dict[str, dict[str, Any]] = Field(description="Each field's JSON schema (type, description).")


class InsiderSourceFields(ApiModel):
    """The customer fields the stored mapping reads: the connector's dynamic schema of a customer."""

    attributes: FieldsSchema = Field(description="A customer's attributes: the identifier and profile sources.")
    event_params: FieldsSchema = Field(alias="eventParams",
                                       description="An event's params: the parameter sources of every mapped event.")
