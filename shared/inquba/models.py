"""Request and response models of the inQuba routes (validation, wire conversion, and the OpenAPI schemas)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainValidator,
    StrictBool,
    ValidationError,
    WithJsonSchema,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.identifiers import IDENTIFIER_PATTERN, MAX_CUSTOMER_ID_CHARS, customer_id_problem

MAX_ATTRIBUTES = 200
MAX_CODE_LENGTH = 200
MAX_VALUE_LENGTH = 4_000



def _attribute_value(value: object) -> bool | int | Decimal | str:
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"must be at most {MAX_VALUE_LENGTH} characters")
    if isinstance(value, bool | int | Decimal | str):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    raise ValueError("must be a string, number or boolean")


VALUE_SCHEMA = {"type": ["string", "number", "boolean"], "maxLength": MAX_VALUE_LENGTH}  # maxLength: strings only
AttributeValue = Annotated[bool | int | Decimal | str, PlainValidator(_attribute_value), WithJsonSchema(VALUE_SCHEMA)]
Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE_LENGTH)]


class Attribute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="Event or transaction attribute code, as defined in inQuba.")
    value: AttributeValue = Field(description="Value; numbers and booleans are sent to inQuba as strings.")




def _attributes_as_list(value: object) -> object:
    """The {"code": value} form becomes the [{"code", "value"}] form before validation."""
    if isinstance(value, dict):
        return [{"code": code, "value": item} for code, item in value.items()]
    return value


Attributes = Annotated[
    list[Attribute],
    BeforeValidator(_attributes_as_list),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "array", "maxItems": MAX_ATTRIBUTES, "items": {"$ref": "#/$defs/Attribute"}},
                {"type": "object", "maxProperties": MAX_ATTRIBUTES,
                 "propertyNames": {"minLength": 1, "maxLength": MAX_CODE_LENGTH},  # each key is a code
                 "additionalProperties": VALUE_SCHEMA},
            ]
        }
    ),
]


class _ItemBase(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    is_test: StrictBool = Field(False, alias="isTest", description="Publish as test rather than live.")
    attributes: Attributes = Field(
        default_factory=list,
        description='Attributes as [{"code", "value"}] or as a {"code": value} map.',
    )
    customer_id: str | None = Field(None, alias="customerId", min_length=1, max_length=MAX_CUSTOMER_ID_CHARS)
    customer_name: str | None = Field(None, alias="customerName", max_length=256)
    identifier: str | None = Field(
        None, pattern=IDENTIFIER_PATTERN, description="Your correlation id; generated (a ULID) when absent."
    )

    @field_validator("customer_id")
    @classmethod
    def _key_sized(cls, value: str | None) -> str | None:
        problem = None if value is None else customer_id_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("attributes")
    @classmethod
    def _bounded(cls, value: Attributes) -> Attributes:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
        return value

    def wire_attributes(self) -> list[dict[str, str]]:
        return [{"code": a.code, "value": attribute_text(a.value)} for a in self.attributes]


def attribute_text(value: bool | int | Decimal | str) -> str:
    """inQuba types every attribute value as a string: booleans `true`/`false`, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class EventRequest(_ItemBase):
    event_definition_code: Code = Field(alias="eventDefinitionCode", description="The inQuba event code.")

    def wire_body(self) -> dict[str, object]:
        return {"eventDefinitionCode": self.event_definition_code, "isTest": self.is_test,
                "attributes": self.wire_attributes()}


class TransactionRequest(_ItemBase):
    transaction_definition_code: Code = Field(
        alias="transactionDefinitionCode", description="The inQuba transaction code."
    )

    def wire_body(self) -> dict[str, object]:
        return {"transactionDefinitionCode": self.transaction_definition_code, "isTest": self.is_test,
                "attributes": self.wire_attributes()}


InqubaItem = EventRequest | TransactionRequest
ItemKind = Literal["event", "transaction"]
ITEM_MODELS: dict[ItemKind, type[InqubaItem]] = {"event": EventRequest, "transaction": TransactionRequest}


# The certified inQuba Journey connector's names of the token fields that differ from ours (its Acquire Access
# Token inputs): accepted too, so a body written with them works here (docs/connector.md, "Coming from ...").
CERTIFIED_TOKEN_FIELDS: dict[str, str] = {
    "TenantName": "tenantName", "HostURL": "hostUrl", "client_id": "clientId", "client_secret": "clientSecret"}


CONNECTOR_FIELDS = ("tenantName", "hostUrl", "username", "password", "clientId", "clientSecret")


def _token_rules_documented(schema: dict[str, Any]) -> None:
    """The document lists the certified names too, with their field's schema, marked `x-alias-of`, and says what
    the validators enforce: the six fields all or none (null is not given), and a field under one name only."""
    properties = schema["properties"]
    for certified, ours in CERTIFIED_TOKEN_FIELDS.items():
        properties[certified] = {**properties[ours], "x-alias-of": ours,
                                 "description": f"{ours} under the certified inQuba Journey connector's name."}
    names = {ours: [ours, *(c for c, o in CERTIFIED_TOKEN_FIELDS.items() if o == ours)] for ours in CONNECTOR_FIELDS}
    schema["anyOf"] = [
        {"description": "None of the six: the app's own connection.",
         "properties": {name: {"type": "null"} for each in names.values() for name in each}},
        {"description": "All six: a connection of the caller's.",
         "allOf": [{"anyOf": [{"required": [name], "properties": {name: {"type": "string"}}} for name in each]}
                   for each in names.values()]},
    ]
    schema["not"] = {"anyOf": [{"required": [ours, certified]} for certified, ours in CERTIFIED_TOKEN_FIELDS.items()]}


class TokenRequest(BaseModel):
    """Optional connector-style credentials; empty means the app's configured connection."""

    # No populate_by_name: a field is taken under its documented names only (ours, or the certified one).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_token_rules_documented)

    tenant_name: str | None = Field(None, alias="tenantName", min_length=1, max_length=100,
                                    pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    host_url: str | None = Field(None, alias="hostUrl", min_length=1, max_length=253,
                                 pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
                                 description="Token host without scheme, e.g. api.inqubacx.com")
    username: str | None = Field(None, min_length=1, max_length=256)
    password: str | None = Field(None, min_length=1, max_length=1024)
    client_id: str | None = Field(None, alias="clientId", min_length=1, max_length=256)
    client_secret: str | None = Field(None, alias="clientSecret", min_length=1, max_length=1024)

    @model_validator(mode="wrap")
    @classmethod
    def _certified_names(cls, data: Any, handler: ModelWrapValidatorHandler[TokenRequest]) -> TokenRequest:
        """TenantName, HostURL, client_id, client_secret become ours, and their problems keep the name they were
        sent under; a field given under both names is a 400."""
        if not isinstance(data, dict) or not any(name in data for name in CERTIFIED_TOKEN_FIELDS):
            return handler(data)
        twice = [InitErrorDetails(type=PydanticCustomError("duplicate", f"is given twice, as {ours} too"),
                                  loc=(certified,), input=data[certified])
                 for certified, ours in CERTIFIED_TOKEN_FIELDS.items() if certified in data and ours in data]
        if twice:
            raise ValidationError.from_exception_data(cls.__name__, twice)
        sent = {ours: certified for certified, ours in CERTIFIED_TOKEN_FIELDS.items() if certified in data}
        try:
            return handler({CERTIFIED_TOKEN_FIELDS.get(name, name): value for name, value in data.items()})
        except ValidationError as exc:
            raise ValidationError.from_exception_data(cls.__name__, [
                InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), input=e["input"],
                                 loc=(sent.get(str(e["loc"][0]), e["loc"][0]), *e["loc"][1:]) if e["loc"] else ())
                for e in exc.errors(include_url=False)]) from None

    @model_validator(mode="after")
    def _all_or_none(self) -> TokenRequest:
        given = self.given()
        if given:
            missing = [InitErrorDetails(type=PydanticCustomError("all_or_none", "is required when any connector "
                                                                 "field is given"), loc=(name,), input=None)
                       for name in CONNECTOR_FIELDS if name not in given]
            if missing:
                raise ValidationError.from_exception_data(type(self).__name__, missing)
        return self

    def given(self) -> list[str]:
        return [name for name, value in self.model_dump(by_alias=True).items() if value is not None]


class PublishResponse(BaseModel):
    identifier: str
    status: Literal["delivered"]
    upstream_status: int = Field(alias="upstreamStatus")
    upstream_body: str = Field(alias="upstreamBody")
    response_time_seconds: float = Field(alias="responseTimeSeconds")


class TokenResponse(BaseModel):
    access_token: str = Field(alias="accessToken")
    token_type: Literal["Bearer"] = Field("Bearer", alias="tokenType")
    expires_at: str = Field(alias="expiresAt")
    cached: bool

    @computed_field(alias="access_token", description="The same token under the certified inQuba Journey "
                    "connector's name (access_token), so flows written for it keep working.")
    @property
    def certified_access_token(self) -> str:
        return self.access_token
