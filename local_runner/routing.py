"""HTTP route templates in the ASP.NET Core syntax the Functions host uses.

Supported: literal segments (matched case-insensitively), `{name}`, `{name:constraint...}`,
`{name?}`, `{name=default}`, `{*name}` / `{**name}` catch-all, and complex segments such as
`{file}.{ext}`. Constraints `int`, `long`, `bool`, `alpha`, `guid`, `decimal`, `double`, `float`,
`min(n)`, `max(n)`, `range(a,b)`, `length(n|a,b)`, `minlength(n)`, `maxlength(n)` and
`regex(expr)` are checked; any other constraint accepts every value.

Among several templates matching one path the most specific wins, as in ASP.NET Core routing:
per segment, literal < constrained parameter < parameter < catch-all (see `precedence`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_ALPHA = re.compile(r"^[A-Za-z]+$")
_GUID = re.compile(
    r"^(\{)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(?(1)\})$"
    r"|^\([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\)$"
)
_NAME_FORBIDDEN = set("/{}?*=:")


@dataclass(frozen=True)
class Constraint:
    text: str
    check: Callable[[str], bool]
    sample: str | None  # a value that satisfies it, for overlap diagnostics


def _integer_in(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return bool(_INTEGER.match(value)) and low <= int(value) <= high

    return check


def _args(text: str, name: str, count: tuple[int, ...]) -> list[int]:
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if len(parts) not in count:
        raise ValueError(f"constraint {name}() takes {' or '.join(map(str, count))} argument(s)")
    try:
        return [int(p) for p in parts]
    except ValueError as exc:
        raise ValueError(f"constraint {name}() needs integer arguments, got {text!r}") from exc


def compile_constraint(text: str) -> Constraint:
    match = re.fullmatch(r"(\w+)(?:\((.*)\))?", text, re.S)
    if match is None:
        raise ValueError(f"invalid route constraint {text!r}")
    name, arg = match.group(1).lower(), match.group(2)
    if name in ("int", "long"):
        low, high = _INT32 if name == "int" else _INT64
        return Constraint(text, _integer_in(low, high), "1")
    if name == "bool":
        return Constraint(text, lambda v: v.lower() in ("true", "false"), "true")
    if name == "alpha":
        return Constraint(text, lambda v: bool(_ALPHA.match(v)), "a")
    if name == "guid":
        return Constraint(text, lambda v: bool(_GUID.match(v)), str(uuid.UUID(int=1)))
    if name in ("decimal", "double", "float"):
        return Constraint(text, lambda v: bool(_NUMBER.match(v)), "1")
    if name in ("min", "max"):
        (bound,) = _args(arg or "", name, (1,))
        if name == "min":
            return Constraint(text, lambda v: _integer_in(*_INT64)(v) and int(v) >= bound, str(bound))
        return Constraint(text, lambda v: _integer_in(*_INT64)(v) and int(v) <= bound, str(bound))
    if name == "range":
        low, high = _args(arg or "", name, (2,))
        return Constraint(text, _integer_in(low, high), str(low))
    if name in ("length", "minlength", "maxlength"):
        values = _args(arg or "", name, (1, 2) if name == "length" else (1,))
        if name == "length":
            low, high = (values[0], values[0]) if len(values) == 1 else (values[0], values[1])
        elif name == "minlength":
            low, high = values[0], 1 << 31
        else:
            low, high = 1, values[0]
        return Constraint(text, lambda v: low <= len(v) <= high, "a" * max(low, 1))
    if name == "regex":
        pattern = re.compile(arg or "", re.IGNORECASE)
        return Constraint(text, lambda v: pattern.search(v) is not None, None)
    # Unknown (or unmodelled, like datetime) constraints accept any value.
    return Constraint(text, lambda v: True, None)


@dataclass(frozen=True)
class Parameter:
    name: str
    constraints: tuple[Constraint, ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        return all(c.check(value) for c in self.constraints)

    def sample(self) -> str | None:
        if self.default is not None:
            return self.default
        samples = [c.sample for c in self.constraints]
        if any(s is None for s in samples):
            return None
        return samples[-1] if samples else "x"


Part = str | Parameter


@dataclass(frozen=True)
class Segment:
    parts: tuple[Part, ...]
    _regex: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def literal(self) -> str | None:
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], str) else None

    @property
    def parameter(self) -> Parameter | None:
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Parameter) else None

    def precedence_digit(self) -> int:
        """ASP.NET Core `RoutePrecedence.ComputeInbound` digit: lower is more specific."""
        if len(self.parts) > 1:
            return 2
        part = self.parts[0]
        if isinstance(part, str):
            return 1
        digit = 5 if part.catch_all else 3
        return digit - 1 if part.constraints else digit

    def match_complex(self, value: str) -> dict[str, str] | None:
        assert self._regex is not None
        found = self._regex.fullmatch(value)
        if found is None:
            return None
        values = found.groupdict()
        for part in self.parts:
            if isinstance(part, Parameter) and not part.accepts(values[part.name]):
                return None
        return values


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_parameter(body: str) -> Parameter:
    catch_all = False
    if body.startswith("**"):
        catch_all, body = True, body[2:]
    elif body.startswith("*"):
        catch_all, body = True, body[1:]
    default = None
    pieces = _split_top_level(body, "=")
    if len(pieces) > 1:
        body, default = pieces[0], "=".join(pieces[1:])
    optional = False
    if default is None and body.endswith("?"):
        optional, body = True, body[:-1]
    name, *constraint_texts = _split_top_level(body, ":")
    if not name or any(c in _NAME_FORBIDDEN for c in name):
        raise ValueError(f"invalid route parameter name {name!r}")
    if catch_all and optional:
        raise ValueError(f"catch-all parameter {name!r} cannot be marked optional")
    constraints = tuple(compile_constraint(t) for t in constraint_texts)
    return Parameter(name, constraints, optional, default, catch_all)


def _parameter_body(text: str, start: int) -> tuple[int, str]:
    """The text of the parameter opened before ``start`` (``{{``/``}}`` unescaped), and the index of its ``}``."""
    j, body = start, []
    while True:
        if j >= len(text):
            raise ValueError(f"unterminated parameter in segment {text!r}")
        if text[j] == "}" and text[j + 1 : j + 2] == "}":
            body.append("}")
            j += 2
        elif text[j] == "}":
            return j, "".join(body)
        elif text[j] == "{" and text[j + 1 : j + 2] == "{":
            body.append("{")
            j += 2
        elif text[j] == "{":
            raise ValueError(f"unexpected '{{' in segment {text!r}")
        else:
            body.append(text[j])
            j += 1


def _parse_segment(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "{" and text[i + 1 : i + 2] == "{":
            literal.append("{")
            i += 2
        elif char == "}" and text[i + 1 : i + 2] == "}":
            literal.append("}")
            i += 2
        elif char == "}":
            raise ValueError(f"unbalanced '}}' in segment {text!r}")
        elif char == "{":
            j, body = _parameter_body(text, i + 1)
            if literal:
                parts.append("".join(literal))
                literal = []
            if parts and isinstance(parts[-1], Parameter):
                raise ValueError(f"segment {text!r} has two parameters without a literal between them")
            parts.append(_parse_parameter(body))
            i = j + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    if not parts:
        raise ValueError("empty segment")
    return tuple(parts)


def _complex_regex(parts: tuple[Part, ...]) -> re.Pattern[str]:
    pattern = []
    for part in parts:
        if isinstance(part, str):
            pattern.append(re.escape(part))
        else:
            if part.optional or part.catch_all or part.default is not None:
                raise ValueError(f"parameter {part.name!r}: optional, default or catch-all parameters "
                                 "must be alone in their segment")
            pattern.append(f"(?P<{part.name}>.+?)")
    return re.compile("".join(pattern), re.IGNORECASE | re.S)


def _split_path(raw_path: str) -> list[str]:
    path = raw_path.lstrip("/")
    if not path:
        return []
    segments = path.split("/")
    if segments[-1] == "":
        segments.pop()  # a trailing slash is ignored, as in ASP.NET Core
    return segments


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[Segment, ...]

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.precedence_digit() for segment in self.segments)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for s in self.segments for p in s.parts if isinstance(p, Parameter)]

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Route values when the (percent-encoded) path matches, else None."""
        path = _split_path(raw_path)
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            parameter = segment.parameter
            if parameter is not None and parameter.catch_all:
                rest = unquote("/".join(path[index:]))
                if rest:
                    if not parameter.accepts(rest):
                        return None
                    values[parameter.name] = rest
                elif parameter.default is not None:
                    values[parameter.name] = parameter.default
                return values
            if index >= len(path):
                if parameter is None or not (parameter.optional or parameter.default is not None):
                    return None
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                continue
            value = unquote(path[index])
            literal = segment.literal
            if literal is not None:
                if value.casefold() != literal.casefold():
                    return None
            elif parameter is not None:
                if not value or not parameter.accepts(value):
                    return None
                values[parameter.name] = value
            else:
                found = segment.match_complex(value)
                if found is None:
                    return None
                values.update(found)
        if len(path) > len(self.segments):
            return None
        return values

    def sample_path(self) -> str | None:
        """A path this template matches (None when a constraint cannot be sampled)."""
        pieces = []
        for segment in self.segments:
            text = []
            for part in segment.parts:
                if isinstance(part, str):
                    text.append(part)
                else:
                    sample = part.sample()
                    if sample is None:
                        return None
                    text.append(sample)
            pieces.append("".join(text))
        return "/" + "/".join(pieces)


def parse_template(text: str) -> RouteTemplate:
    """Compile a route template (the route prefix already joined in)."""
    cleaned = text.strip()
    if cleaned.startswith("~/"):
        cleaned = cleaned[2:]
    cleaned = cleaned.strip("/")
    if "?" in cleaned.replace("?}", "") or "#" in cleaned:
        raise ValueError(f"route template {text!r} must not contain '?' or '#'")
    raw_segments = cleaned.split("/") if cleaned else []
    segments: list[Segment] = []
    names: set[str] = set()
    for position, raw in enumerate(raw_segments):
        if raw == "":
            raise ValueError(f"route template {text!r} has an empty segment")
        parts = _parse_segment(raw)
        segment = Segment(parts, _complex_regex(parts) if len(parts) > 1 else None)
        for part in parts:
            if isinstance(part, Parameter):
                if part.name.lower() in names:
                    raise ValueError(f"route template {text!r} uses parameter {part.name!r} twice")
                names.add(part.name.lower())
                if part.catch_all and position != len(raw_segments) - 1:
                    raise ValueError(f"catch-all parameter {part.name!r} must be the last segment of {text!r}")
        segments.append(segment)
    seen_optional = False
    for segment in segments:
        parameter = segment.parameter
        skippable = parameter is not None and (parameter.optional or parameter.default is not None
                                               or parameter.catch_all)
        if seen_optional and not skippable:
            raise ValueError(f"route template {text!r}: only optional parameters may follow an optional one")
        seen_optional = seen_optional or skippable
    return RouteTemplate(cleaned, tuple(segments))


def join_route(prefix: str, route: str) -> str:
    return "/".join(piece.strip("/") for piece in (prefix, route) if piece and piece.strip("/"))


@dataclass(frozen=True)
class Route(Generic[T]):
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    target: T
    order: int

    def allows(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods

    @property
    def sort_key(self) -> tuple[tuple[int, ...], str, int]:
        return (self.template.precedence, self.template.text.lower(), self.order)


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    route: Route[T]
    params: dict[str, str]


class Router(Generic[T]):
    """Routes ordered by precedence; `match` returns the first one accepting path and method."""

    def __init__(self) -> None:
        self._routes: list[Route[T]] = []

    def add(self, template: str, methods: Iterable[str] | None, target: T) -> Route[T]:
        route = Route(parse_template(template), None if methods is None else frozenset(m.upper() for m in methods),
                      target, len(self._routes))
        self._routes.append(route)
        self._routes.sort(key=lambda r: r.sort_key)
        return route

    @property
    def routes(self) -> list[Route[T]]:
        return list(self._routes)

    def match(self, method: str, raw_path: str) -> RouteMatch[T] | None:
        for route in self._routes:
            if not route.allows(method):
                continue
            params = route.template.match(raw_path)
            if params is not None:
                return RouteMatch(route, params)
        return None

    def path_exists(self, raw_path: str) -> bool:
        return any(route.template.match(raw_path) is not None for route in self._routes)
