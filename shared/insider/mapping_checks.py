"""Checks on a mapping document: every problem, as a JSON Pointer and a message, and the warnings.

Problems come from the JSON Schema (``mapping_schema``; messages rewritten where a plainer one
helps) and from the semantic checks a schema cannot express: duplicate sources and Insider names,
custom names that are default names, rows that contradict themselves, purchase / cart_page_view
events without the parameters Insider requires. Warnings name what a valid document sends that
the app cannot check (see ``docs/insider-mapping.md``).
"""

from __future__ import annotations

from typing import Any, Final

from jsonschema import Draft202012Validator

from shared.insider.mapping_schema import MAPPING_SCHEMA, SEMANTIC
from shared.insider.names import (
    ARRAY_ATTRIBUTES,
    DEFAULT_ATTRIBUTES,
    DEFAULT_EVENT_PARAMS,
    DEFAULT_IDENTIFIERS,
    REQUIRED_EVENT_PARAMS,
)

__all__ = ["MappingInvalid", "check_mapping", "mapping_warnings", "pointer"]

_VALIDATOR: Final = Draft202012Validator(MAPPING_SCHEMA)

Problem = tuple[tuple[Any, ...], str]  # (path parts, message)


class MappingInvalid(ValueError):
    """The mapping document is invalid. ``errors``: every problem as ``{"path", "message"}``.

    ``path`` is a JSON Pointer into the document (``""`` is the document itself).
    """

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        lines = "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"invalid Insider mapping, {len(errors)} problem(s): {lines}{more}")


def pointer(parts: tuple[Any, ...]) -> str:
    """Path parts as a JSON Pointer (RFC 6901)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check_mapping(document: Any) -> None:
    """Raise :class:`MappingInvalid` listing every problem of ``document``, in document order."""
    problems = _schema_problems(document) + _semantic_problems(document)
    if problems:
        unique = sorted(set(problems), key=_sort_key)
        raise MappingInvalid([{"path": pointer(path), "message": message} for path, message in unique])


# --------------------------------------------------------------------------------------------
# JSON Schema problems
# --------------------------------------------------------------------------------------------

_KIND_BY_SECTION: Final = {
    "identifiers": ("identifier", DEFAULT_IDENTIFIERS),
    "profile": ("attribute", DEFAULT_ATTRIBUTES),
    "params": ("event parameter", DEFAULT_EVENT_PARAMS),
}


def _schema_problems(document: Any) -> list[Problem]:
    problems: list[Problem] = []
    for error in _VALIDATOR.iter_errors(document):
        if isinstance(error.schema, dict) and error.schema.get("$comment") == SEMANTIC:
            continue  # _semantic_problems says it
        path = tuple(error.absolute_path)
        validator = error.validator
        if validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            problems.extend(((*path, key), "unknown property") for key in error.instance if key not in known)
        elif validator == "required" and isinstance(error.instance, dict):
            missing = (key for key in error.validator_value if key not in error.instance)
            problems.extend(((*path, key), "required property is missing") for key in missing)
        else:
            problems.append((path, _plain_message(path, validator, error.instance, error.message)))
    return problems


def _plain_message(path: tuple[Any, ...], validator: Any, instance: Any, message: str) -> str:
    """A plainer message for a bad Insider name; the validator's own message otherwise."""
    leaf = path[-1] if path else None
    section = path[-3] if len(path) >= 3 else None
    if leaf != "insider" or not isinstance(instance, str):
        return message
    if validator == "enum" and section in _KIND_BY_SECTION:
        kind, _ = _KIND_BY_SECTION[section]
        return (
            f"{instance!r} is not a default Insider {kind} name; "
            f"set custom to true to send it as a custom {kind}"
            + (", or default to true to send it at the root of attributes" if section == "profile" else "")
        )
    if validator == "pattern" and section == "events":
        return (
            f"{instance!r} is not a safe Insider event name: use lowercase letters, "
            "digits and _ only, starting with a letter or digit"
        )
    if validator == "pattern":
        return (
            f"{instance!r} is not a valid custom name: use snake_case "
            "(lowercase letters, digits and _, starting with a letter or digit)"
        )
    return message


# --------------------------------------------------------------------------------------------
# Semantic problems
# --------------------------------------------------------------------------------------------


def _rows(document: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The object rows of a list section, with their index (other rows get schema errors only)."""
    section = document.get(key) if isinstance(document, dict) else None
    if not isinstance(section, list):
        return []
    return [(index, row) for index, row in enumerate(section) if isinstance(row, dict)]


def _first_use(seen: dict[Any, int], key: Any, index: int) -> int | None:
    """The index that already used ``key``, or None after recording ``index`` as its first use."""
    if key in seen:
        return seen[key]
    seen[key] = index
    return None


def _check_rows(
    prefix: tuple[Any, ...],
    rows: list[tuple[int, dict[str, Any]]],
    kind: str,
    defaults: tuple[str, ...],
    problems: list[Problem],
) -> None:
    sources: dict[str, int] = {}
    targets: dict[tuple[bool, str], int] = {}
    for index, row in rows:
        source, insider, custom = row.get("source"), row.get("insider"), row.get("custom") is True
        if isinstance(source, str) and (earlier := _first_use(sources, source, index)) is not None:
            problems.append(
                ((*prefix, index, "source"), f"source {source!r} is already mapped at {pointer((*prefix, earlier))}")
            )
        if not isinstance(insider, str):
            continue
        if (earlier := _first_use(targets, (custom, insider), index)) is not None:
            label = f"custom {kind}" if custom else f"{kind}"
            problems.append(
                (
                    (*prefix, index, "insider"),
                    f"Insider {label} {insider!r} is already mapped at {pointer((*prefix, earlier))}",
                )
            )
        if custom and insider in defaults:
            problems.append(
                (
                    (*prefix, index, "insider"),
                    f"{insider!r} is a default Insider {kind} name; drop custom: true to use the "
                    f"default {kind}, or choose another custom name",
                )
            )


def _may_be_array(row: dict[str, Any]) -> bool:
    """Whether a profile row can send an array: a custom or unlisted root attribute, or a listed array one."""
    insider = row.get("insider")
    return row.get("custom") is True or insider in ARRAY_ATTRIBUTES or (
        row.get("default") is True and insider not in DEFAULT_ATTRIBUTES
    )


def _attribute_row_problems(rows: list[tuple[int, dict[str, Any]]], problems: list[Problem]) -> None:
    """Profile rows that contradict themselves: custom and default at once, append on a value never an array."""
    for index, row in rows:
        if row.get("custom") is True and row.get("default") is True:
            problems.append(
                (
                    ("profile", index, "default"),
                    "a row is custom (sent under attributes.custom) or default (sent at the root of attributes), "
                    "not both",
                )
            )
        if "append" in row and isinstance(row.get("insider"), str) and not _may_be_array(row):
            problems.append(
                (
                    ("profile", index, "append"),
                    f"{row['insider']!r} is never an array; append applies to {', '.join(ARRAY_ATTRIBUTES)}, "
                    "custom attributes and default: true attributes",
                )
            )


def _event_problems(document: Any, problems: list[Problem]) -> None:
    sources: dict[str, int] = {}
    for index, event in _rows(document, "events"):
        source = event.get("source")
        if isinstance(source, str) and (earlier := _first_use(sources, source, index)) is not None:
            problems.append(
                (("events", index, "source"), f"source event {source!r} is already mapped at /events/{earlier}")
            )
        param_rows = _rows(event, "params")
        _check_rows(("events", index, "params"), param_rows, "event parameter", DEFAULT_EVENT_PARAMS, problems)
        insider = event.get("insider")
        required = REQUIRED_EVENT_PARAMS.get(insider) if isinstance(insider, str) else None
        if not required:
            continue
        mapped = {row.get("insider") for _, row in param_rows  # an invalid row's name may be any JSON
                  if row.get("custom") is not True and isinstance(row.get("insider"), str)}
        missing = [name for name in required if name not in mapped]
        if missing:
            problems.append(
                (
                    ("events", index, "params"),
                    f"Insider rejects a {insider} event without "
                    f"{', '.join(required)}; map a source parameter to: {', '.join(missing)}",
                )
            )


def _semantic_problems(document: Any) -> list[Problem]:
    problems: list[Problem] = []
    _check_rows(("identifiers",), _rows(document, "identifiers"), "identifier", DEFAULT_IDENTIFIERS, problems)
    profile = _rows(document, "profile")
    _check_rows(("profile",), profile, "attribute", DEFAULT_ATTRIBUTES, problems)
    _attribute_row_problems(profile, problems)
    _event_problems(document, problems)
    return problems


_SECTION_ORDER: Final = {"$schema": 0, "identifiers": 1, "insiderId": 2, "profile": 3, "events": 4, "options": 5}


def _sort_key(problem: Problem) -> tuple[Any, ...]:
    """Document order: sections as written in the docs, then indices numerically, then keys."""
    path, message = problem
    head = (_SECTION_ORDER.get(path[0], 6),) if path else ()
    return (head, tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path), message)


# --------------------------------------------------------------------------------------------
# Warnings on a valid document
# --------------------------------------------------------------------------------------------


def mapping_warnings(document: dict[str, Any]) -> list[dict[str, str]]:
    """What a valid (canonical) document sends that the app cannot check, as ``{"path", "message"}``.

    - a ``default: true`` row naming a root attribute the app does not list: sent as given;
    - rows whose arrays are appended and rows whose arrays are overwritten: Insider's flag is per
      user (§3), so a user carrying both kinds has its arrays appended.
    """
    warnings = []
    modes: dict[bool, int] = {}
    not_append = document["options"]["notAppend"]
    for index, row in enumerate(document["profile"]):
        insider = row["insider"]
        if row.get("default") and insider not in DEFAULT_ATTRIBUTES:
            warnings.append({
                "path": pointer(("profile", index, "insider")),
                "message": f"{insider!r} is not a default attribute this app lists (insider-api.md §2.1): it is sent "
                "at the root of attributes as given, unchecked; Insider may ignore or refuse it",
            })
        if "append" in row or (not row["custom"] and insider in ARRAY_ATTRIBUTES):
            modes.setdefault(row.get("append", not not_append), index)
    if len(modes) == 2:
        warnings.append({
            "path": "/profile",
            "message": f"/profile/{modes[True]} appends its arrays and /profile/{modes[False]} overwrites them, but "
            "Insider takes not_append per user (insider-api.md §3): a user that carries both kinds is sent "
            "appending (a warning append-conflict says so)",
        })
    return warnings
