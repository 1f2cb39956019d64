"""Names Insider defines for the upsert body, and the rules for names the mapping chooses (pure).

Reference (``insider-api.md``): §1.3 (identifiers), §2.1 (default attributes), §4 (event
parameters, required ones) and §9 (naming rules).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "ARRAY_ATTRIBUTES",
    "CUSTOM_NAME_PATTERN",
    "DEFAULT_ATTRIBUTES",
    "DEFAULT_EVENT_PARAMS",
    "DEFAULT_IDENTIFIERS",
    "EVENT_NAME_PATTERN",
    "INSIDER_ID",
    "REQUIRED_EVENT_PARAMS",
    "is_custom_name",
    "is_event_name",
    "normalise_name",
]

#: Root keys of ``identifiers``; any other identifier goes under ``identifiers.custom``.
DEFAULT_IDENTIFIERS: Final[tuple[str, ...]] = ("uuid", "email", "phone_number")

#: The user-level key that addresses a user in place of ``identifiers`` (§1.3, example B of §10).
INSIDER_ID: Final = "insider_id"

#: Default attribute names (root of ``attributes``), §2.1.
DEFAULT_ATTRIBUTES: Final[tuple[str, ...]] = (
    "email",
    "phone_number",
    "email_optin",
    "gdpr_optin",
    "sms_optin",
    "whatsapp_optin",
    "name",
    "surname",
    "birthday",
    "gender",
    "age",
    "language",
    "country",
    "city",
    "static_segment_id",
    "list_id",
    "uuid",
    "lo",
)

#: Default attributes whose value is an array ("Number array", §2.1): ``not_append`` / ``append`` steer them (§3).
ARRAY_ATTRIBUTES: Final[tuple[str, ...]] = ("static_segment_id", "list_id")

#: Default event parameters (root of ``event_params``): the §4 table, the other predefined
#: parameters of §4 and Segment's default list.
DEFAULT_EVENT_PARAMS: Final[tuple[str, ...]] = (
    "event_group_id",
    "product_id",
    "name",
    "taxonomy",
    "url",
    "currency",
    "quantity",
    "unit_price",
    "unit_sale_price",
    "locale",
    "color",
    "size",
    "shipping_cost",
    "promotion_name",
    "promotion_discount",
    "stock",
    "product_image_url",
    "session_id",
    "campaign_id",
    "campaign_name",
    "user_agent",
    "variant_id",
    "referrer",
)

#: Default parameters Insider rejects an event without (§4, §6.2). ``quantity`` is marked
#: "Yes only for purchase" in the §4 table, but Insider's own example F (§10) sends a purchase
#: without it and gets ``successful.count: 2``; it is therefore not enforced here.
REQUIRED_EVENT_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "purchase": ("event_group_id", "currency", "unit_sale_price"),
    "cart_page_view": ("event_group_id", "currency", "unit_sale_price"),
}

#: Custom identifier, attribute and parameter names (snake_case).
CUSTOM_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_]*$"
#: Safe event-name rule (§9: the printed server regex is laxer than what the server accepts).
EVENT_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_]*$"

_CUSTOM_NAME_RE = re.compile(CUSTOM_NAME_PATTERN[1:-1], re.ASCII)
_EVENT_NAME_RE = re.compile(EVENT_NAME_PATTERN[1:-1], re.ASCII)
_CAMEL_ACRONYM_RE = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_RE = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS_RE = re.compile(r"[\s\-]+")


def is_custom_name(name: Any) -> bool:
    """True for a snake_case custom name: ``^[a-z0-9][a-z0-9_]*$``."""
    return type(name) is str and _CUSTOM_NAME_RE.fullmatch(name) is not None


def is_event_name(name: Any) -> bool:
    """True for a safe Insider event name: lowercase letters, digits and ``_``, not starting with ``_``."""
    return type(name) is str and _EVENT_NAME_RE.fullmatch(name) is not None


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """Source name -> snake_case: trim, camelCase -> camel_case, spaces and ``-`` -> ``_``, lowercase.

    The result may still be unusable (``"prénom"``, ``"a.b"``, ``"_x"``); check it with
    :func:`is_custom_name` / :func:`is_event_name`.
    """
    text = name.strip()
    text = _CAMEL_ACRONYM_RE.sub(r"\1_\2", text)
    text = _CAMEL_RE.sub(r"\1_\2", text)
    text = _SEPARATORS_RE.sub("_", text)
    return text.lower()
