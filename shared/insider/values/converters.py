"""Which value rule each Insider name uses, and the JSON value a flow sends for each rule."""

from __future__ import annotations

from typing import Any, Final

from shared.insider.values import Converter
from shared.insider.values.custom import to_custom_value
from shared.insider.values.datetimes import to_rfc3339, to_rfc3339_utc
from shared.insider.values.numbers import to_age, to_boolean, to_int_list, to_integer, to_number
from shared.insider.values.text import (
    to_country,
    to_currency,
    to_e164,
    to_email,
    to_id_string,
    to_language,
    to_string,
    to_string_list,
    to_text,
    to_url,
)

__all__ = ["ATTRIBUTE_CONVERTERS", "IDENTIFIER_CONVERTERS", "PARAM_CONVERTERS", "VALUE_SCHEMAS"]

#: Root identifier -> converter. Custom identifiers use :func:`to_id_string`.
IDENTIFIER_CONVERTERS: Final[dict[str, Converter]] = {
    "uuid": to_id_string,
    "email": to_email,
    "phone_number": to_e164,
}

#: Default attribute -> converter (§2.1).
ATTRIBUTE_CONVERTERS: Final[dict[str, Converter]] = {
    "email": to_email,
    "phone_number": to_e164,
    "email_optin": to_boolean,
    "gdpr_optin": to_boolean,
    "sms_optin": to_boolean,
    "whatsapp_optin": to_boolean,
    "name": to_string,
    "surname": to_string,
    "birthday": to_rfc3339_utc,
    "gender": to_string,
    "age": to_age,
    "language": to_language,
    "country": to_country,
    "city": to_string,
    "static_segment_id": to_int_list,
    "list_id": to_int_list,
    "uuid": to_id_string,
    "lo": to_string,
}

#: Default event parameter -> converter (§4).
PARAM_CONVERTERS: Final[dict[str, Converter]] = {
    "event_group_id": to_id_string,
    "product_id": to_id_string,
    "name": to_string,
    "taxonomy": to_string_list,
    "url": to_url,
    "currency": to_currency,
    "quantity": to_integer,
    "unit_price": to_number,
    "unit_sale_price": to_number,
    "locale": to_string,
    "color": to_string,
    "size": to_id_string,
    "shipping_cost": to_text,
    "promotion_name": to_string,
    "promotion_discount": to_number,
    "stock": to_number,
    "product_image_url": to_url,
    "session_id": to_id_string,
    "campaign_id": to_id_string,
    "campaign_name": to_string,
    "user_agent": to_string,
    "variant_id": to_id_string,
    "referrer": to_string,
}

#: The JSON value a flow sends for a field of each converter: the connector's dynamic schema of the
#: customer fields a mapping reads (``compiled_mapping.source_fields_schema``). The converters also take
#: the other forms they document (``"yes"`` for a boolean); a custom value is sent as given, so it has no
#: one type.
VALUE_SCHEMAS: Final[dict[Converter, dict[str, Any]]] = {
    to_string: {"type": "string"},
    to_id_string: {"type": "string"},
    to_text: {"type": "string"},
    to_email: {"type": "string", "format": "email"},
    to_e164: {"type": "string"},
    to_country: {"type": "string"},
    to_language: {"type": "string"},
    to_currency: {"type": "string"},
    to_url: {"type": "string"},
    to_string_list: {"type": "array", "items": {"type": "string"}},
    to_boolean: {"type": "boolean"},
    to_integer: {"type": "integer"},
    to_age: {"type": "integer"},
    to_number: {"type": "number"},
    to_int_list: {"type": "array", "items": {"type": "integer"}},
    to_rfc3339: {"type": "string", "format": "date-time"},
    to_rfc3339_utc: {"type": "string", "format": "date-time"},
    to_custom_value: {},
}
