"""Paths and pycep helpers shared by the infra checks (the fixtures are in conftest.py).

pycep turns a .bicep file into nested dicts; these functions read that form: resources with
their loop and condition unwrapped, variables, module parameters, and the shapes pycep gives
expressions such as `a.b.c`, `!empty(x)` and `cond ? x : y`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PARAM_FILE = INFRA / "main.bicepparam"
SKIPS_DOC = INFRA / "checkov-skips.md"
DEPLOY_SCRIPT = ROOT / "scripts" / "deploy.sh"
FUNCTION_APP = ROOT / "function_app.py"
VENV = ROOT / ".venv-infra"
VENV_PYTHON = VENV / "bin" / "python"
CHECKOV = VENV / "bin" / "checkov"
BICEP_TO_JSON = Path(__file__).with_name("bicep_to_json.py")


def require_infra_venv() -> None:
    """Skip (not fail) where the separate infra virtualenv was not built."""
    if not VENV_PYTHON.exists():
        pytest.skip(
            ".venv-infra is missing (the Makefile builds it: python3 -m venv .venv-infra && "
            ".venv-infra/bin/pip install -r requirements-infra.txt)"
        )


def parse_folder(folder: Path) -> dict[str, dict]:
    """Every .bicep file under `folder` parsed by pycep (run in .venv-infra), keyed by relative path."""
    require_infra_venv()
    proc = subprocess.run(
        [str(VENV_PYTHON), str(BICEP_TO_JSON), str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def storage_names(value: Any) -> set[str]:
    """Names from a STORAGE_RESOURCES entry, whether a mapping (setting -> name) or a sequence."""
    return set(value.values()) if isinstance(value, Mapping) else set(value)


def unwrap(config: dict) -> tuple[dict, Any, Any]:
    """pycep nests the body of a looped or conditional resource/module: return (body, condition, loop)."""
    if "loop_type" in config:
        return config["config"], config.get("condition"), config["loop_type"]
    if set(config) == {"condition", "config"}:
        return config["config"], config["condition"], None
    return config, None, None


def resources(template: dict) -> dict[str, dict]:
    """The template's resources by symbolic name: type, api_version, existing, body, condition, loop."""
    out = {}
    for name, res in (template.get("resources") or {}).items():
        body, condition, loop = unwrap(res["config"])
        out[name] = {
            "type": res["type"],
            "api_version": res["api_version"],
            "existing": res["existing"],
            "body": body,
            "condition": condition,
            "loop": loop,
        }
    return out


def of_type(template: dict, type_: str, *, existing: bool = False) -> dict[str, dict]:
    return {n: r for n, r in resources(template).items() if r["type"] == type_ and r["existing"] == existing}


def one(template: dict, type_: str) -> dict:
    """The body of the template's only (non-existing) resource of this type."""
    found = of_type(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.values()))["body"]


def variable(template: dict, name: str) -> Any:
    return template["variables"][name]["value"]


def decorators(param: dict) -> dict[str, Any]:
    return {d["type"]: d.get("argument") for d in param.get("decorators", [])}


def module(template: dict, name: str) -> tuple[dict, Any]:
    """(body, condition) of a module call."""
    body, condition, _ = unwrap(template["modules"][name]["config"])
    return body, condition


def module_params(template: dict, name: str) -> dict:
    return module(template, name)[0]["params"]


def accessor(*path: Any) -> Any:
    """pycep's form of a dotted access such as identity.outputs.id."""
    if len(path) == 1:
        return path[0]
    operands = {"operand_1": path[0], "operand_2": accessor(*path[1:])}
    return {"operator": {"type": "property_accessor", "operands": operands}}


def empty(item: Any) -> dict:
    """pycep's form of empty(item)."""
    return {"function": {"type": "empty", "parameters": {"item_to_test": item}}}


def not_empty(param: str) -> dict:
    """pycep's form of !empty(param)."""
    return {"operator": {"type": "not", "operands": {"bool_value": empty(param)}}}


def conditional(condition: Any, true_value: Any, false_value: Any) -> dict:
    """pycep's form of `condition ? true_value : false_value`."""
    operands = {"condition": condition, "true_value": true_value, "false_value": false_value}
    return {"operator": {"type": "conditional", "operands": operands}}


def function(expr: Any, type_: str) -> dict | None:
    """The function call of this type (`{"type", "parameters"}`), or None if `expr` is something else."""
    if isinstance(expr, dict) and isinstance(expr.get("function"), dict) and expr["function"].get("type") == type_:
        return expr["function"]
    return None


def union_args(expr: Any) -> list[Any]:
    fn = function(expr, "union")
    assert fn, f"expected union(...), got {expr!r}"
    return list(fn["parameters"].values())


def object_keys(template: dict, expr: Any) -> set[str]:
    """Keys of an object expression: a literal, a variable, or union(...) of those."""
    if isinstance(expr, str):
        return object_keys(template, variable(template, expr))
    if function(expr, "union"):
        keys: set[str] = set()
        for arg in union_args(expr):
            keys |= object_keys(template, arg)
        return keys
    assert isinstance(expr, dict) and "function" not in expr and "operator" not in expr, expr
    return set(expr)


def bicep_sources(folder: Path = INFRA) -> dict[str, str]:
    """The text of every .bicep file under `folder`, keyed by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.bicep"))}


def param_default(template: dict, expr: Any) -> Any:
    """Default of the main.bicep parameter an app-setting expression reads (through string())."""
    fn = function(expr, "string")
    if fn:
        expr = fn["parameters"]["value_to_convert"]
    assert isinstance(expr, str) and expr in template["parameters"], f"not a parameter reference: {expr!r}"
    return template["parameters"][expr].get("default")


# Settings held in Key Vault: setting -> vault secret name; and the @secure() parameters of their values.
VAULT_SECRETS = {
    "INQUBA_PASSWORD": "inquba-password",
    "INQUBA_CLIENT_SECRET": "inquba-client-secret",
    "INSIDER_API_KEY": "insider-api-key",
}
SECURE_PARAMS = ("inqubaPassword", "inqubaClientSecret", "insiderApiKey")
