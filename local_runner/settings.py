"""App settings: `local.settings.json` and `%NAME%` binding expressions."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from local_runner.errors import StartupError

LOCAL_SETTINGS_FILE = "local.settings.json"
_EXPRESSION = re.compile(r"%([^%]+)%")


def read_local_settings(app_dir: Path) -> dict[str, Any]:
    """The parsed `local.settings.json` of `app_dir`, or `{}` when there is none."""
    path = Path(app_dir) / LOCAL_SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise StartupError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StartupError(f"{path} must contain a JSON object")
    return data


def apply_local_settings(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy `Values` of `local.settings.json` into `environ` (default `os.environ`).

    Variables already present in the environment win, as with Core Tools. Returns the names
    that were set.
    """
    target = os.environ if environ is None else environ
    values = read_local_settings(app_dir).get("Values") or {}
    if not isinstance(values, dict):
        raise StartupError(f"{LOCAL_SETTINGS_FILE}: 'Values' must be an object")
    applied = []
    for name, value in values.items():
        if name in target:
            continue
        target[str(name)] = "" if value is None else str(value)
        applied.append(str(name))
    return applied


def resolve_expressions(value: str, settings: Mapping[str, str], *, what: str) -> str:
    """Replace every `%NAME%` in `value` with the app setting NAME, as the host does."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise StartupError(f"{what}: app setting '{name}' referenced as '%{name}%' is not defined")
        return settings[name]

    return _EXPRESSION.sub(replace, value)


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes"}
