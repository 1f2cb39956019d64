"""A customer's Insider identifiers, built by the stored mapping's identifier rows exactly as a sync builds them.

Erase, delete attributes and get profile address a user by its identifiers only. `CompiledMapping.map` maps and
validates the whole customer: it refuses a record with nothing to send besides its identifiers (an upsert user
needs an attribute or an event) and one with an invalid profile value, neither of which matters here. So the
customer is mapped by an *identity mapping*: the stored mapping's identifier rows as they are, no events, other
attributes dropped, and one custom profile row that every customer is given a value for. The identifiers come
out of the same rows and converters as a sync's; a customer is rejected only when they yield none (or one of
them is invalid, as a sync would reject it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.insider.compiled_mapping import CompiledMapping, load_mapping
from shared.insider.mapper import RejectedCustomer

_PROBE_SOURCE = "__identity_probe__"
_PROBE = {"source": _PROBE_SOURCE, "insider": "identity_probe", "custom": True}
_derived: tuple[CompiledMapping, CompiledMapping] | None = None  # (stored mapping, its identity mapping)


@dataclass(frozen=True)
class Identified:
    customer_id: str
    customer_name: str | None
    identifiers: dict[str, Any]  # as the upsert sends them: email, phone_number, uuid, custom {...}

    @property
    def values(self) -> tuple[str, ...]:
        """The identifier values (custom ones too) as strings: what an erase request's log entry must not keep."""
        values = [v for k, v in self.identifiers.items() if k != "custom"]
        values += list((self.identifiers.get("custom") or {}).values())
        return tuple(str(v) for v in values if v is not None and str(v))


def identity_mapping(mapping: CompiledMapping) -> CompiledMapping:
    """The identity mapping of `mapping` (built once per stored mapping)."""
    global _derived
    if _derived is None or _derived[0] is not mapping:
        document = mapping.to_document()
        document.update(profile=[_PROBE], events=[])
        document["options"] = {**document["options"], "unmapped": "drop"}
        _derived = (mapping, load_mapping(document))
    return _derived[1]


def identify(mapping: CompiledMapping, customer: Any) -> Identified | RejectedCustomer:
    """The customer's identifiers, or why it has none (`RejectedCustomer`, errors naming source fields)."""
    probe: Any = customer
    if isinstance(customer, dict):
        attributes = customer.get("attributes")
        probe = {"id": customer.get("id"), "name": customer.get("name"),
                 "attributes": {**attributes, _PROBE_SOURCE: "x"} if isinstance(attributes, dict) else attributes}
        if attributes is None:
            probe["attributes"] = {_PROBE_SOURCE: "x"}
    outcome = identity_mapping(mapping).map(probe)
    if isinstance(outcome, RejectedCustomer):  # "nothing to send" would be about the probe, not the customer
        errors = [e for e in outcome.errors if e["rule"] != "attribute-or-event-required"]
        return RejectedCustomer(outcome.customer_id, outcome.customer_name, errors)
    return Identified(outcome.customer_id, outcome.customer_name, outcome.user["identifiers"])
