"""The Insider users the sandbox knows: those applied by upsert, as the other endpoints see them.

Each applied identity (its identifiers and/or insider_id, see `identity_key`) is one record holding
the last accepted payload as sent (`user`) and the profile built from all of them: attributes merged
(array attributes appended unless the upsert said otherwise, insider-api.md §3) and events collected
(identical events collapsed, §4). Delete, anonymise and delete-attributes change the profile; the
profile endpoint reads it. There is no unification: a lookup finds every record that shares an
identifier (or the insider_id) with the request.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

# "Some samples and the Delete-attribute docs call it list_id" (insider-api.md §2.1): one attribute.
ATTRIBUTE_ALIASES = {"list_id": "static_segment_id"}


def attribute_name(name: str) -> str:
    """The stored name of a default attribute (`list_id` is `static_segment_id`)."""
    return ATTRIBUTE_ALIASES.get(name, name)


def identity_key(user: dict[str, Any]) -> str:
    """Stable key of an Insider user from its identifiers and/or insider_id."""
    parts = [f"{name}={value}" for name, value in identifier_pairs(user.get("identifiers"))]
    if user.get("insider_id") is not None:
        parts.append(f"insider_id={user['insider_id']}")
    return "|".join(parts)


def identifier_pairs(identifiers: Any) -> list[tuple[str, Any]]:
    """(name, value) of each identifier, sorted: root ones by name, custom ones as `custom.<name>`."""
    if not isinstance(identifiers, dict):
        return []
    pairs = sorted((name, value) for name, value in identifiers.items() if name != "custom")
    custom = identifiers.get("custom")
    if isinstance(custom, dict):
        pairs += sorted((f"custom.{name}", value) for name, value in custom.items())
    return pairs


def _comparable(pairs: list[tuple[str, Any]]) -> set[tuple[str, str]]:
    # JSON text, so that 7 and "7" stay different and unhashable values can be compared.
    return {(name, json.dumps(value, sort_keys=True)) for name, value in pairs}


def appends_arrays(user: dict[str, Any], request_append: Any) -> bool:
    """Whether array attributes are appended: the user's `append`, else its `not_append`, else the
    request's `append`, else yes (§3: appended by default; `append` wins over `not_append`)."""
    for flag, appends in (("append", True), ("not_append", False)):
        if isinstance(user.get(flag), bool):
            return user[flag] is appends
    return request_append if isinstance(request_append, bool) else True


def _merge(stored: dict[str, Any], sent: dict[str, Any], append: bool) -> None:
    for name, value in sent.items():
        current = stored.get(name)
        if append and isinstance(value, list) and isinstance(current, list):
            stored[name] = current + [v for v in value if v not in current]
        else:
            stored[name] = copy.deepcopy(value)


@dataclass
class InsiderUser:
    """One applied identity and its profile."""

    key: str
    identifiers: dict[str, Any] | None
    insider_id: Any
    iid: Any  # the insider_id sent (any JSON value), else generated
    user: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    skip_hook: bool = False
    applied_count: int = 0
    request_seq: int | None = None
    undocumented: list[str] = field(default_factory=list)
    anonymized: bool = False

    def matches(self, pairs: set[tuple[str, str]], insider_id: Any) -> bool:
        if insider_id is not None and insider_id == self.iid:
            return True
        return bool(pairs & _comparable(identifier_pairs(self.identifiers)))

    def to_json(self) -> dict[str, Any]:
        attributes = dict(self.attributes)
        if self.custom:
            attributes["custom"] = self.custom
        return copy.deepcopy(
            {
                "key": self.key,
                "identifiers": self.identifiers,
                "insider_id": self.insider_id,
                "iid": self.iid,
                "user": self.user,
                "attributes": attributes,
                "events": self.events,
                "skip_hook": self.skip_hook,
                "applied_count": self.applied_count,
                "request_seq": self.request_seq,
                # Paths of the last payload that insider-api.md does not define (accepted as sent).
                "undocumented": self.undocumented,
                "anonymized": self.anonymized,
            }
        )


@dataclass
class InsiderUsers:
    """Every applied identity, in the order first applied."""

    _users: dict[str, InsiderUser] = field(default_factory=dict)
    _created: int = 0

    def apply(
        self,
        user: dict[str, Any],
        *,
        skip_hook: bool,
        request_seq: int | None,
        undocumented: list[str],
        append: bool = True,
    ) -> InsiderUser:
        """Record an accepted upsert user: its payload, merged attributes and new events."""
        key = identity_key(user)
        record = self._users.get(key)
        if record is None:
            self._created += 1
            insider_id = user.get("insider_id")
            # Insider gives every profile an id (`iid`); one sent as insider_id is that id.
            iid = insider_id if insider_id is not None else f"sandbox-iid-{self._created}"
            record = self._users[key] = InsiderUser(key, user.get("identifiers"), insider_id, iid)
        record.user = copy.deepcopy(user)
        record.skip_hook = skip_hook
        record.applied_count += 1
        record.request_seq = request_seq
        record.undocumented = undocumented
        attributes = user.get("attributes") or {}
        default = {attribute_name(k): v for k, v in attributes.items() if k != "custom"}
        _merge(record.attributes, default, append)
        _merge(record.custom, attributes.get("custom") or {}, append)
        for event in user.get("events") or []:
            if event not in record.events:  # the same event sent again is one entry (§4)
                record.events.append(copy.deepcopy(event))
        return record

    def find(self, identifiers: Any = None, insider_id: Any = None) -> list[InsiderUser]:
        """Records sharing an identifier with `identifiers`, or whose iid is `insider_id`."""
        pairs = _comparable(identifier_pairs(identifiers))
        return [u for u in self._users.values() if u.matches(pairs, insider_id)]

    def remove(self, users: list[InsiderUser]) -> None:
        for user in users:
            self._users.pop(user.key, None)

    def all(self) -> list[InsiderUser]:
        return list(self._users.values())

    def clear(self) -> None:
        self._users.clear()
        self._created = 0
