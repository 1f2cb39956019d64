"""RFC 9457 problem details: the one error shape every route answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem(Exception):
    """An error answered to the caller as problem+json; raise it anywhere below a trigger."""

    status: int
    title: str
    detail: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    type: str = "about:blank"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.title if self.detail is None else f"{self.title}: {self.detail}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


def bad_request(detail: str, errors: list[FieldError]) -> Problem:
    return Problem(400, "Bad Request", detail, errors=errors)


def not_found(detail: str) -> Problem:
    return Problem(404, "Not Found", detail)

