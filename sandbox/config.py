"""The sandbox's configuration: defaults, validation of partial updates, JSON form."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.insider_replies import UPSERT_REPLY_KINDS
from sandbox.targets import (
    FAULT_INSIDER,
    FAULT_INSIDER_ANONYMIZE,
    FAULT_INSIDER_DELETE,
    FAULT_INSIDER_PROFILE,
    FAULT_TARGETS,
)

TENANT_FIELDS = ("username", "password", "client_id", "client_secret")

# The error mix the lead suggested for chaos runs; NOT the default (the default injects nothing, so
# tests are deterministic unless they ask for faults). `python -m sandbox --chaos` starts with it.
CHAOS_ERROR_RATES: dict[str, float] = {"500": 0.1, "503": 0.05, "429": 0.05}

# Requests per minute documented by insider-api.md (§5.1: upsert and delete attributes share 25,000;
# §8: delete 10,000, anonymise 500, profile 1,000 units at 1 unit a request). inQuba documents none
# for its API (its 100/min is the Power Platform connector's).
DOCUMENTED_RATE_LIMITS: dict[str, int | None] = {
    **dict.fromkeys(FAULT_TARGETS),
    FAULT_INSIDER: 25_000,
    FAULT_INSIDER_DELETE: 10_000,
    FAULT_INSIDER_ANONYMIZE: 500,
    FAULT_INSIDER_PROFILE: 1_000,
}

# Which attributes are PII is an Insider account setting; the sandbox's default is the personal data
# among the default attributes.
DEFAULT_PII_ATTRIBUTES = ("email", "phone_number", "name", "surname", "birthday")


class ConfigError(ValueError):
    """A configuration update that does not validate; nothing of it was applied."""


def _default_tenants() -> dict[str, dict[str, str]]:
    return {
        "sandbox": {
            "username": "sandbox-user",
            "password": "sandbox-password",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        }
    }


@dataclass(frozen=True)
class SandboxConfig:
    """Every setting of the sandbox; `POST /_control/config` takes any subset of these keys."""

    # inQuba accounts: tenant name -> credentials (an update replaces the whole mapping).
    tenants: dict[str, dict[str, str]] = field(default_factory=_default_tenants)
    insider_partner_name: str = "sandboxpartner"
    insider_api_key: str = "sandbox-insider-key"
    token_lifetime_seconds: int = 3600
    include_expires_in: bool = True
    latency_ms: float = 0
    # status code (string) -> probability per request; their sum must be <= 1.
    error_rates: dict[str, float] = field(default_factory=dict)
    error_targets: list[str] = field(default_factory=lambda: list(FAULT_TARGETS))
    retry_after_seconds: int | None = 1
    timeout_rate: float = 0
    timeout_seconds: float = 30
    # {fault target: limit or None}; an update may also be one limit for every target, or None for none.
    rate_limit_per_minute: int | dict[str, int | None] | None = field(
        default_factory=lambda: dict(DOCUMENTED_RATE_LIMITS)
    )
    # Length of the rate-limit window: the limits are "per minute" of 60 s; a test provoking a 429
    # storm shortens it so that Retry-After (and the wait it asks for) is short too.
    rate_limit_window_seconds: float = 60
    random_seed: int | str | None = None
    # Insider's example F (answered 2 successful) has a purchase without `quantity`, so the real
    # server does not enforce it; set true to require it as the parameter table says.
    purchase_requires_quantity: bool = False
    # Attributes "marked as PII" (account setting), deleted by anonymise; `custom.<name>` for custom ones.
    insider_pii_attributes: list[str] = field(default_factory=lambda: list(DEFAULT_PII_ATTRIBUTES))
    # An odd 200 for the next `count` upserts, or for a `rate` of them: {"kind", "count", "rate", "apply"}.
    insider_upsert_reply: dict[str, Any] | None = None
    # Identifier values the account's Identity Resolution Management blocks (insider-api.md §1.3): a user of an
    # upsert or a delete attributes naming one fails alone (a per-user failure a client's validation cannot see).
    insider_blocked_identifiers: list[str] = field(default_factory=list)
    max_recorded_requests: int = 5000
    max_recorded_body_bytes: int = 1_000_000

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(dataclasses.asdict(self))

    def updated(self, update: Mapping[str, Any]) -> SandboxConfig:
        """A new config with `update` applied; raises ConfigError (naming the key) when invalid."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(update) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = self.to_json()
        for key, value in update.items():
            if key in _MERGED and isinstance(value, dict) and isinstance(values[key], dict):
                value = {**values[key], **value}  # only the entries sent change
            values[key] = _VALIDATORS[key](key, value)
        return SandboxConfig(**values)

    def rate_limit_for(self, fault_target: str) -> int | None:
        limit = self.rate_limit_per_minute
        if isinstance(limit, dict):
            return limit.get(fault_target)
        return limit


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}")


def _non_empty_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(key, "must be a non-empty string")
    return value


def _partner_name(key: str, value: Any) -> str:
    value = _non_empty_str(key, value)
    if value != value.lower():
        raise _fail(key, "Insider partner names are lowercase")
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "must be a boolean")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _non_negative_number(key: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise _fail(key, "must be a number >= 0")
    return value


def _positive_number(key: str, value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise _fail(key, "must be a number > 0")
    return value


def _non_negative_int(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(key, "must be an integer >= 0")
    return value


def _optional_non_negative_int(key: str, value: Any) -> int | None:
    return None if value is None else _non_negative_int(key, value)


def _probability(key: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise _fail(key, "must be a probability between 0 and 1")
    return float(value)


def _tenants(key: str, value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise _fail(key, "must be an object of tenant name -> credentials")
    tenants: dict[str, dict[str, str]] = {}
    for name, creds in value.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise _fail(key, f"invalid tenant name {name!r}")
        if not isinstance(creds, dict) or set(creds) != set(TENANT_FIELDS):
            raise _fail(key, f"tenant {name!r} needs exactly {', '.join(TENANT_FIELDS)}")
        tenants[name] = {f: _non_empty_str(f"{key}.{name}.{f}", creds[f]) for f in TENANT_FIELDS}
    return tenants


def _error_rates(key: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise _fail(key, 'must be an object of status code -> probability, e.g. {"500": 0.1}')
    rates: dict[str, float] = {}
    for status, rate in value.items():
        code = str(status)
        if not code.isdigit() or not 400 <= int(code) <= 599:
            raise _fail(key, f"{status!r} is not a 4xx/5xx status code")
        rates[code] = _probability(f"{key}.{code}", rate)
    if sum(rates.values()) > 1 + 1e-9:
        raise _fail(key, "probabilities must add up to at most 1")
    return rates


def _names(key: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _fail(key, "must be a list of names")
    return [_non_empty_str(f"{key}[{i}]", name) for i, name in enumerate(value)]


def _error_targets(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or any(t not in FAULT_TARGETS for t in value):
        raise _fail(key, f"must be a list of: {', '.join(FAULT_TARGETS)}")
    return list(dict.fromkeys(value))


def _rate_limit(key: str, value: Any) -> dict[str, int | None]:
    """Every fault target's limit: from {target: limit or None}, one limit for all, or None for none."""
    if not isinstance(value, dict):
        return dict.fromkeys(FAULT_TARGETS, None if value is None else _positive_int(key, value))
    limits: dict[str, int | None] = dict.fromkeys(FAULT_TARGETS)
    for target, limit in value.items():
        if target not in FAULT_TARGETS:
            raise _fail(key, f"unknown target {target!r}; use {', '.join(FAULT_TARGETS)}")
        limits[target] = None if limit is None else _positive_int(f"{key}.{target}", limit)
    return limits


def _positive_int(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail(key, "must be an integer >= 1")
    return value


def _upsert_reply(key: str, value: Any) -> dict[str, Any] | None:
    """None, or {"kind", "count" | "rate", "apply"}; neither count nor rate means the next upsert only."""
    if value is None:
        return None
    fields = ("kind", "count", "rate", "apply")
    if not isinstance(value, dict) or set(value) - set(fields):
        raise _fail(key, f"must be null or an object with {', '.join(fields)}")
    if value.get("kind") not in UPSERT_REPLY_KINDS:
        raise _fail(key, f"kind must be one of {', '.join(UPSERT_REPLY_KINDS)}")
    count, rate = value.get("count"), value.get("rate")
    if count is not None and rate is not None:
        raise _fail(key, "give count or rate, not both")
    return {
        "kind": value["kind"],
        "count": _positive_int(f"{key}.count", count) if count is not None else (1 if rate is None else None),
        "rate": None if rate is None else _probability(f"{key}.rate", rate),
        "apply": _bool(f"{key}.apply", value.get("apply", False)),
    }


def _seed(key: str, value: Any) -> int | str | None:
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    raise _fail(key, "must be an integer, a string or null")


# Keys whose object updates are merged into the current value instead of replacing it.
_MERGED = frozenset({"rate_limit_per_minute"})

_VALIDATORS: dict[str, Any] = {
    "tenants": _tenants,
    "insider_partner_name": _partner_name,
    "insider_api_key": _non_empty_str,
    "token_lifetime_seconds": _non_negative_int,
    "include_expires_in": _bool,
    "latency_ms": _non_negative_number,
    "error_rates": _error_rates,
    "error_targets": _error_targets,
    "retry_after_seconds": _optional_non_negative_int,
    "timeout_rate": _probability,
    "timeout_seconds": _positive_number,
    "rate_limit_per_minute": _rate_limit,
    "rate_limit_window_seconds": _positive_number,
    "random_seed": _seed,
    "purchase_requires_quantity": _bool,
    "insider_pii_attributes": _names,
    "insider_upsert_reply": _upsert_reply,
    "insider_blocked_identifiers": _names,
    "max_recorded_requests": _non_negative_int,
    "max_recorded_body_bytes": _non_negative_int,
}
