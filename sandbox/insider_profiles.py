"""Insider UCD endpoints that act on the users the sandbox knows (insider-api.md §8).

- `POST /api/user/v1/delete`: delete a user (GDPR erase), one per request, 5 MB; 200 `{}`.
- `POST /api/user/v1/anonymize` (by identifiers) and `POST /api/contact/v1/anonymize` (by
  insider_id): the PII attributes are deleted; 404 for an unknown user; 200 `{}`.
- `POST /api/user/v1/attribute/delete`: delete whole attributes or values of array attributes, up
  to 1,000 users, 5 MB; per-user results in the upsert's reply shape.
- `POST /api/user/v1/profile`: read one user's attributes and events; 404 for an unknown user.

The checks every Insider endpoint makes first are in `insider_request`; faults and rate limits are
applied before these handlers (sandbox/faults.py).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from aiohttp import web

from sandbox.insider_replies import NO_SUCH_USER, results_body
from sandbox.insider_request import (
    Refused,
    bad_request,
    endpoint,
    identifiers_of,
    names_an_identifier,
    read_body,
    users_of,
)
from sandbox.insider_store import InsiderUser, attribute_name, identifier_pairs
from sandbox.insider_validation import (
    IDENTIFIERS_REQUIRED,
    ROOT_IDENTIFIERS,
    UserCheck,
    check_blocked,
    is_number,
    parse_rfc3339,
)
from sandbox.state import STATE_KEY, SandboxState
from sandbox.targets import FAULT_INSIDER_PROFILE

# Custom attributes are read with a prefix; the reference has both "_c__" (text) and "c_" (sample).
CUSTOM_PREFIXES = ("_c__", "c_")
PROFILE_QUOTA_COST = 1  # units per profile request: the reference gives no cost formula


def _found(state: SandboxState, identifiers: Any = None, insider_id: Any = None) -> list[InsiderUser]:
    """The known users asked for, or a 404 with the documented body."""
    users = state.insider_users.find(identifiers, insider_id)
    if not users:
        raise Refused(web.json_response(NO_SUCH_USER, status=404))
    return users


# --- delete user, anonymise ----------------------------------------------------------------------


@endpoint
async def delete_user(request: web.Request) -> web.Response:
    """POST /api/user/v1/delete: every record sharing an identifier goes; unknown users answer 200 too."""
    state = request.app[STATE_KEY]
    identifiers = identifiers_of(await read_body(request))
    state.insider_users.remove(state.insider_users.find(identifiers))
    return web.json_response({})


def _anonymize(state: SandboxState, users: list[InsiderUser]) -> web.Response:
    pii = state.config.insider_pii_attributes
    for user in users:
        for name in pii:
            if name.startswith("custom."):
                user.custom.pop(name.removeprefix("custom."), None)
            else:
                user.attributes.pop(attribute_name(name), None)
        user.anonymized = True
    return web.json_response({})


@endpoint
async def anonymize_user(request: web.Request) -> web.Response:
    """POST /api/user/v1/anonymize: the PII attributes of the user with these identifiers."""
    state = request.app[STATE_KEY]
    # No size limit is documented for anonymise.
    identifiers = identifiers_of(await read_body(request, max_bytes=None))
    return _anonymize(state, _found(state, identifiers))


@endpoint
async def anonymize_contact(request: web.Request) -> web.Response:
    """POST /api/contact/v1/anonymize: the same, by `insider_id`."""
    state = request.app[STATE_KEY]
    insider_id = (await read_body(request, max_bytes=None)).get("insider_id")
    if insider_id is None:
        raise bad_request("insider_id must be defined: bad request")
    return _anonymize(state, _found(state, insider_id=insider_id))


# --- delete attributes ---------------------------------------------------------------------------


def _check_names(out: UserCheck, path: str, names: Any, *, default: bool) -> None:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        out.add(f"{path}.type([]string)", f"{path} must be an array of attribute names")
    elif default:
        for name in names:
            if name in ROOT_IDENTIFIERS:
                # "Identifier attributes cannot be deleted here" (§8).
                out.add(f"{path}.*.in(non_identifier_attributes)", f"{name} is an identifier and cannot be deleted")


def _check_partial(out: UserCheck, path: str, partial: Any, *, default: bool) -> None:
    if not isinstance(partial, dict):
        out.add(f"{path}.type(object)", f"{path} must be an object of attribute name -> values")
        return
    for name, values in partial.items():
        if not isinstance(values, list):
            out.add(f"{path}.*.type(array)", f"{name} must be an array of values to remove")
    _check_names(out, path, list(partial), default=default)


def _check_deletion(index: int, user: Any) -> UserCheck:
    """Per-user rules of delete attributes: an identity, and well-formed `whole` / `partial` / `custom`."""
    out = UserCheck(index)
    if not isinstance(user, dict):
        out.add("type(object)", "user must be an object")
        return out
    identifiers = user.get("identifiers")
    if identifiers is not None and not isinstance(identifiers, dict):
        out.add("identifiers.type(object)", "identifiers must be an object")
    elif not names_an_identifier(identifiers) and user.get("insider_id") is None:
        out.add("identifiers.required", IDENTIFIERS_REQUIRED)
        out.add("insider_id.required", IDENTIFIERS_REQUIRED)
    custom = user.get("custom")
    if custom is not None and not isinstance(custom, dict):
        out.add("custom.type(object)", "custom must be an object")
        custom = None
    for path, spec, default in (("", user, True), ("custom.", custom or {}, False)):
        if spec.get("whole") is not None:
            _check_names(out, f"{path}whole", spec["whole"], default=default)
        if spec.get("partial") is not None:
            _check_partial(out, f"{path}partial", spec["partial"], default=default)
    return out


def _delete_from(values: dict[str, Any], spec: dict[str, Any], name_of: Any) -> None:
    for name in spec.get("whole") or []:
        values.pop(name_of(name), None)
    for name, removed in (spec.get("partial") or {}).items():
        current = values.get(name_of(name))
        if isinstance(current, list):
            values[name_of(name)] = [v for v in current if v not in removed]


@endpoint
async def delete_attributes(request: web.Request) -> web.Response:
    """POST /api/user/v1/attribute/delete: per-user results as the upsert's (`data.successful` / `fail`).

    A user the sandbox does not know counts as successful: nothing of it is left to delete, and the
    reference documents no error for it (this endpoint shares the upsert's asynchronous pipeline).
    """
    state = request.app[STATE_KEY]
    users = users_of(await read_body(request))
    errors: dict[str, list[str]] = {}
    valid: list[dict[str, Any]] = []
    for index, user in enumerate(users):
        check = _check_deletion(index, user)
        check_blocked(user, state.config.insider_blocked_identifiers, check)
        errors.update(check.errors)
        if not check.errors:
            valid.append(user)
    for user in valid:
        for record in state.insider_users.find(user.get("identifiers"), user.get("insider_id")):
            _delete_from(record.attributes, user, attribute_name)
            _delete_from(record.custom, user.get("custom") or {}, str)
    return web.json_response(results_body(len(valid), len(users) - len(valid), errors))


# --- get profile ---------------------------------------------------------------------------------


def _profile_query(body: dict[str, Any]) -> tuple[list[str] | None, dict[str, Any] | None]:
    """The `attributes` and `events` asked for, refusing a malformed query (400)."""
    if not names_an_identifier(body.get("identifiers")) and body.get("insider_id") is None:
        raise bad_request(f"{IDENTIFIERS_REQUIRED}: bad request")
    if body.get("identifiers") is not None and not isinstance(body["identifiers"], dict):
        raise bad_request("identifiers must be an object: bad request")
    attributes, events = body.get("attributes"), body.get("events")
    if attributes is not None and not (isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)):
        raise bad_request("attributes must be an array of attribute names: bad request")
    if events is not None:
        if not isinstance(events, dict):
            raise bad_request("events must be an object: bad request")
        for bound in ("start_date", "end_date"):
            if events.get(bound) is not None and not is_number(events[bound]):
                raise bad_request(f"events.{bound} must be epoch seconds: bad request")
        wanted = events.get("wanted")
        if wanted is not None and not (isinstance(wanted, list) and all(map(_is_wanted_event, wanted))):
            raise bad_request("events.wanted must be an array of {event_name, params}: bad request")
    if body.get("quota") is not None and not isinstance(body["quota"], bool):
        raise bad_request("quota must be a boolean: bad request")
    if attributes is None and events is None:
        # "attributes (array) and/or events" (§8).
        raise bad_request("attributes or events must be specified: bad request")
    return attributes, events


def _is_wanted_event(wanted: Any) -> bool:
    if not isinstance(wanted, dict) or not isinstance(wanted.get("event_name"), str):
        return False
    params = wanted.get("params")
    return params is None or (isinstance(params, list) and all(isinstance(p, str) for p in params))


def _profile_attributes(user: InsiderUser, names: list[str], pii: list[str]) -> dict[str, Any]:
    values, custom = dict(user.attributes), dict(user.custom)
    # A profile holds its identifiers as attributes too (the reference's sample reads back an email),
    # except the PII ones of an anonymised user.
    for name, value in identifier_pairs(user.identifiers):
        if not (user.anonymized and name in pii):
            if name.startswith("custom."):
                custom.setdefault(name.removeprefix("custom."), value)
            else:
                values.setdefault(name, value)
    found: dict[str, Any] = {}
    for name in names:
        prefix = next((p for p in CUSTOM_PREFIXES if name.startswith(p)), None)
        if name == "*":  # "all attributes" (community guide)
            found.update(values)
            found.update({f"c_{key}": value for key, value in custom.items()})
        elif prefix is not None:
            if name.removeprefix(prefix) in custom:
                found[name] = custom[name.removeprefix(prefix)]
        elif attribute_name(name) in values:
            found[name] = values[attribute_name(name)]
    found["iid"] = user.iid
    return found


def _profile_events(user: InsiderUser, query: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    start, end = query.get("start_date"), query.get("end_date")
    found: dict[str, list[dict[str, Any]]] = {}
    for wanted in query.get("wanted") or []:
        items = found.setdefault(wanted["event_name"], [])
        for event in user.events:
            when = parse_rfc3339(event["timestamp"])
            if event["event_name"] != wanted["event_name"] or when is None:
                continue
            if (start is not None and when.timestamp() < start) or (end is not None and when.timestamp() > end):
                continue
            params = dict(event.get("event_params") or {})
            params = {**(params.pop("custom", None) or {}), **params}
            # The sample asks for "timestamp" and reads back "created_date".
            params["created_date"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            asked = wanted.get("params")
            if asked is not None:
                names = ["created_date" if p == "timestamp" else p for p in asked]
                params = {name: params[name] for name in names if name in params}
            items.append(params)
    return found


@endpoint
async def profile(request: web.Request) -> web.Response:
    """POST /api/user/v1/profile: what the sandbox holds for one user, in the reference's shape."""
    state = request.app[STATE_KEY]
    body = await read_body(request, max_bytes=None)  # no size limit documented
    attributes, events = _profile_query(body)
    # Several records may share the identifiers asked (no unification): the last one applied answers.
    user = max(_found(state, body.get("identifiers"), body.get("insider_id")), key=lambda u: u.request_seq or 0)
    answer: dict[str, Any] = {}
    if attributes is not None:
        answer["attributes"] = _profile_attributes(user, attributes, state.config.insider_pii_attributes)
    if events is not None:
        answer["events"] = _profile_events(user, events)
    if body.get("quota"):
        limit = state.config.rate_limit_for(FAULT_INSIDER_PROFILE)
        used = len(state.window(FAULT_INSIDER_PROFILE).times) * PROFILE_QUOTA_COST if limit else None
        answer["quota"] = {"cost": PROFILE_QUOTA_COST, "used": used, "total": limit}
    return web.json_response(answer)
