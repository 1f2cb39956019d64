"""Insider erase, attribute deletion and profile."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from shared.insider.names import CUSTOM_NAME_PATTERN, DEFAULT_ATTRIBUTES, DEFAULT_IDENTIFIERS
from shared.web.api_models.common import ApiModel, ProblemDetails
from shared.web.api_models.insider import CustomerRecord, SyncProblem

# --- Insider: erase, delete attributes, profile ---------------------------------------------------------------

MAX_ERASE_CUSTOMERS = 100
MAX_ATTRIBUTE_DELETE_CUSTOMERS = 10_000
MAX_ATTRIBUTE_DELETE_NOW = 100  # answered at once; more go through the queue (202)
MAX_ATTRIBUTE_NAMES = 100
MAX_VALUES_PER_ATTRIBUTE = 1000
MAX_PROFILE_NAMES = 100
# §8: "Identifier attributes cannot be deleted here": every other default attribute can.
DELETABLE_ATTRIBUTES = tuple(a for a in DEFAULT_ATTRIBUTES if a not in DEFAULT_IDENTIFIERS)
CustomName = Annotated[str, Field(pattern=CUSTOM_NAME_PATTERN, max_length=128)]


def unique_customer_ids(customers: list[CustomerRecord]) -> list[CustomerRecord]:
    """Customer ids are Table keys (batch items, log partitions): each once per request."""
    seen: dict[str, int] = {}
    for index, customer in enumerate(customers):
        if customer.id in seen:
            raise ValueError(f"customers[{index}].id repeats customers[{seen[customer.id]}].id")
        seen[customer.id] = index
    return customers


def customer_records(customers: list[CustomerRecord]) -> list[dict[str, Any]]:
    """The validated customers as the mapping reads them (source records, extra fields kept)."""
    return [c.model_dump(mode="json", by_alias=True, exclude_unset=True) for c in customers]


class InsiderEraseRequest(ApiModel):
    """Erase customers from Insider (and from the app's own copies)."""

    customers: Annotated[list[CustomerRecord], AfterValidator(unique_customer_ids)] = Field(
        min_length=1, max_length=MAX_ERASE_CUSTOMERS,
        description=f"1 to {MAX_ERASE_CUSTOMERS} customers, as for sync (ids unique): their Insider identifiers come "
                    "from the stored mapping.")
    action: Literal["delete", "anonymize"] = Field(
        description="delete: Insider deletes the user; anonymize: Insider deletes the attributes marked PII.")


class ErasedCopies(ApiModel):
    outbound_log_entries: int = Field(alias="outboundLogEntries",
                                      description="The customer's outbound log entries, personal data removed.")
    delivery_records: int = Field(alias="deliveryRecords", description="Delivery records cleared.")
    batch_items: int = Field(alias="batchItems", description="Batch items whose payload was removed.")


class CustomerOutcome(ApiModel):
    """One customer's result of a call to Insider; each route's model says which statuses it answers."""

    customer_id: str | None = Field(alias="customerId", description="The customer's id (null when it had none).")
    status: str
    errors: list[SyncProblem] = Field(description="Why it was rejected or failed (or is unconfirmed).")
    retryable: bool = Field(description="Whether trying again may succeed (throttling, 5xx, timeout, pause, an "
                                        "unconfirmed reply).")


class CustomerEraseResult(CustomerOutcome):
    status: Literal["erased", "not-found", "failed", "rejected"] = Field(
        description="erased; not-found (Insider answered 404); failed (Insider's error); rejected (the mapping "
                    "yields no identifier: nothing was sent).")
    identifier: str | None = Field(None, description="The erase request's identifier in the outbound log.")
    copies: ErasedCopies | None = Field(None, description="What of the app's own copies was erased (erased and "
                                                          "not-found customers).")


class InsiderEraseResponse(ApiModel):
    action: Literal["delete", "anonymize"] = Field(description="The action taken.")
    results: list[CustomerEraseResult] = Field(description="One result per customer, in input order.")


class InsiderErasePausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    action: Literal["delete", "anonymize"] = Field(description="The action asked for.")
    results: list[CustomerEraseResult] = Field(description="One result per customer, in input order.")


Scalar = str | int | float | bool


Values = Annotated[list[Scalar], Field(min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE)]


class NamedValues(ApiModel):
    name: CustomName = Field(description="The custom array attribute (snake_case name).")
    values: Values = Field(description=f"The values to remove from it (1 to {MAX_VALUES_PER_ATTRIBUTE:,}).")


def _names_as_keys(schema: dict[str, Any]) -> None:
    """A map keyed by custom names: every key must be one (propertyNames), not only those matching get a schema."""
    ((pattern, values),) = schema.pop("patternProperties").items()
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
    schema["additionalProperties"] = values


class CustomAttributeDeletion(ApiModel):
    whole: list[CustomName] = Field(default_factory=list, max_length=MAX_ATTRIBUTE_NAMES,
                                    description="Custom attributes to delete whole (snake_case names).")
    # one form's problems only, named custom.partial.list[0].name or custom.partial.map.<name>
    partial: Annotated[
        Annotated[list[NamedValues], Field(max_length=MAX_ATTRIBUTE_NAMES), Tag("list")]
        | Annotated[dict[CustomName, Values], Field(max_length=MAX_ATTRIBUTE_NAMES, json_schema_extra=_names_as_keys),
                    Tag("map")],
        Discriminator(lambda value: "list" if isinstance(value, list) else "map")] = Field(
        default_factory=dict,
        description="Values to remove from custom array attributes: a list of {name, values}, or Insider's "
                    f"map of name -> values (1 to {MAX_VALUES_PER_ATTRIBUTE:,} each).")

    @field_validator("partial")
    @classmethod
    def _partial(cls, value: list[NamedValues] | dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Insider's form, the map (whose names and counts its type checks as the list's)."""
        if isinstance(value, list):
            merged: dict[str, list[Any]] = {}
            for item in value:
                merged.setdefault(item.name, []).extend(item.values)
            return merged
        return value


class DefaultPartialDeletion(ApiModel):
    """Values to remove from Insider's default array attribute (§2.1: a number array, `list_id` in §8's example)."""

    static_segment_id: list[int | float] | None = Field(None, min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE,
                                                  description="Contact list ids to remove.")
    list_id: list[int | float] | None = Field(None, min_length=1, max_length=MAX_VALUES_PER_ATTRIBUTE,
                                        description="Contact list ids to remove (the name §8's example uses).")


def _names_something(schema: dict[str, Any]) -> None:
    """The document says what `_something` enforces: a non-empty `whole`, a `partial` with a list, or a `custom`
    with a non-empty `whole` or `partial` (options without a type: a rule across fields, as the token's)."""
    def listed(*names: str) -> list[dict[str, Any]]:
        return [{"required": [name], "properties": {name: {"type": "array"}}} for name in names]

    schema["anyOf"] = [
        {"required": ["whole"], "properties": {"whole": {"minItems": 1}}},
        {"required": ["partial"], "properties": {"partial": {"type": "object",
                                                             "anyOf": listed(*DefaultPartialDeletion.model_fields)}}},
        {"required": ["custom"], "properties": {"custom": {"type": "object", "anyOf": [
            {"required": ["whole"], "properties": {"whole": {"minItems": 1}}},
            {"required": ["partial"], "properties": {"partial": {"minItems": 1, "minProperties": 1}}}]}}},
    ]


class AttributeDeletion(ApiModel):
    """What to delete of each customer, as Insider's delete user attribute takes it (§8); identifiers cannot be.
    At least one attribute is named: in `whole`, `partial` or `custom`."""

    model_config = ConfigDict(json_schema_extra=_names_something)

    whole: list[Literal[DELETABLE_ATTRIBUTES]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=MAX_ATTRIBUTE_NAMES,
        description="Default attributes to delete whole (not email, phone_number or uuid: identifiers).")
    partial: DefaultPartialDeletion | None = Field(None, description="Values to remove from default array attributes.")
    custom: CustomAttributeDeletion | None = Field(None, description="Custom attributes to delete, whole or values.")

    @model_validator(mode="after")
    def _something(self) -> AttributeDeletion:
        if not self.fragment():
            raise ValueError("name at least one attribute in whole, partial or custom")
        return self

    def fragment(self) -> dict[str, Any]:
        """The per-user part of Insider's body: `whole`, `partial`, `custom: {whole, partial}`; empty ones left out."""
        out: dict[str, Any] = {}
        if self.whole:
            out["whole"] = list(dict.fromkeys(self.whole))
        partial = self.partial.model_dump(exclude_none=True) if self.partial else {}
        if partial:
            out["partial"] = partial
        custom = {k: v for k, v in (self.custom.model_dump() if self.custom else {}).items() if v}
        if custom:
            out["custom"] = custom
        return out


class InsiderAttributesDeleteRequest(AttributeDeletion):
    customers: Annotated[list[CustomerRecord], AfterValidator(unique_customer_ids)] = Field(
        min_length=1, max_length=MAX_ATTRIBUTE_DELETE_CUSTOMERS,
        description=f"1 to {MAX_ATTRIBUTE_DELETE_CUSTOMERS:,} customers, as for sync (ids unique); up to "
                    f"{MAX_ATTRIBUTE_DELETE_NOW} are answered at once, more are queued (202).")


class CustomerAttributesDeleteResult(CustomerOutcome):
    status: Literal["deleted", "rejected", "failed", "unconfirmed"] = Field(
        description="deleted; rejected (no identifier: not sent); failed (Insider's per-user error or the "
                    "request's); unconfirmed (Insider's reply did not show it applied).")


class InsiderAttributesDeleteResponse(ApiModel):
    identifiers: list[str] = Field(description="The identifiers of the requests sent (outbound log), 1,000 users "
                                               "and 5 MB each.")
    results: list[CustomerAttributesDeleteResult] = Field(description="One result per customer, in input order.")


class InsiderAttributesPausedProblem(ProblemDetails):
    """503 while sending to Insider is paused after a 403: the per-customer results are included."""

    identifiers: list[str] = Field(description="The identifiers of the requests sent.")
    results: list[CustomerAttributesDeleteResult] = Field(description="One result per customer, in input order.")


class InsiderProfileRequest(ApiModel):
    customer: CustomerRecord = Field(description="The customer, as for sync: its Insider identifiers come from the "
                                           "stored mapping.")
    attributes: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        None, min_length=1, max_length=MAX_PROFILE_NAMES,
        description='Insider attribute names to read (custom ones as c_<name>); ["*"], every attribute, when absent.')
    events: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        None, min_length=1, max_length=MAX_PROFILE_NAMES,
        description="Insider event names to read (every parameter of each); none when absent.")
    events_from: AwareDatetime | None = Field(None, alias="eventsFrom",
                                              description="Events at or after this time (ISO 8601); from the start "
                                                          "when absent.")
    events_to: AwareDatetime | None = Field(None, alias="eventsTo",
                                            description="Events at or before this time (ISO 8601); now when absent.")


class InsiderProfileResponse(ApiModel):
    customer_id: str = Field(alias="customerId", description="The customer's id.")
    identifier: str = Field(description="The profile request's identifier in the outbound log.")
    identifiers: dict[str, Any] = Field(description="The Insider identifiers asked for, as the mapping built them.")
    found: bool = Field(description="false when Insider has no user with these identifiers (its 404).")
    profile: dict[str, Any] | None = Field(description="Insider's answer as it came: attributes, events (null when "
                                                       "not found).")


class InsiderUpstreamProblem(ProblemDetails):
    """Insider refused, throttled or did not answer (502, 503, 504)."""

    identifier: str | None = Field(None, description="The request's identifier in the outbound log.")
    upstream_status: int | None = Field(
        None, alias="upstreamStatus", description="Insider's status code; null on a network error or timeout.")
    upstream_body: str | None = Field(None, alias="upstreamBody", description="Insider's answer (secrets redacted).")
