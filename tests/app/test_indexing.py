"""The app is indexed as the Python worker indexes it, and indexing loads none of the heavy modules.

The worker imports `function_app` and reads every top-level name looking for one `FunctionRegister`
(azure_functions_worker/loader.py, `index_function_app`); the local runner does the same
(`local_runner.app_loader.find_function_app`), so every app test goes through that discovery.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import azure.functions as func
import pytest

from local_runner.app_loader import find_function_app

ROOT = Path(__file__).resolve().parents[2]
HEAVY_MODULES = ("pydantic", "httpx", "aiohttp", "jsonschema", "azure.storage", "azure.data.tables", "azure.identity")

INDEX_LIKE_THE_WORKER = """
import json, sys
before = set(sys.modules)
import function_app
from azure.functions import FunctionRegister
found = [name for name in function_app.__dir__()
         if isinstance(getattr(function_app, name, None), FunctionRegister)]
from local_runner.app_loader import find_function_app
app = find_function_app(function_app)
print(json.dumps({"found": found, "functions": len(app.get_functions()),
                  "loaded": sorted(set(sys.modules) - before)}))
"""


def _index_in_fresh_interpreter(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", INDEX_LIKE_THE_WORKER], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _bare_env() -> dict[str, str]:
    """No app settings at all: what an app sees while the host indexes it before settings are right."""
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}


def test_indexing_finds_one_function_app_and_loads_no_heavy_module() -> None:
    result = _index_in_fresh_interpreter(_bare_env())
    assert result["found"] == ["app"]
    assert result["functions"] >= 15
    heavy = [m for m in result["loaded"] if m.startswith(HEAVY_MODULES)]
    assert heavy == [], f"indexing loaded {heavy[:10]}"


def _module(**attributes: object) -> types.ModuleType:
    module = types.ModuleType("some_function_app")
    module.__dict__.update(attributes)
    return module


def test_find_function_app_takes_the_one_register_whatever_its_name() -> None:
    app = func.FunctionApp()
    assert find_function_app(_module(my_app=app, other=object())) is app


def test_find_function_app_refuses_none_or_two_with_the_workers_messages() -> None:
    with pytest.raises(ValueError, match=r"Could not find top level function app instances in function_app\.py"):
        find_function_app(_module(nothing=1))
    with pytest.raises(ValueError, match="More than one FunctionApp or other top level function app instances"):
        find_function_app(_module(a=func.FunctionApp(), b=func.FunctionApp()))


def test_find_function_app_reads_every_attribute_as_the_worker_does() -> None:
    """A name that is costly to read is read during indexing: that is why function_app has no lazy proxies."""
    read: list[str] = []

    class Module(types.ModuleType):
        def __getattribute__(self, name: str) -> object:
            if not name.startswith("__"):
                read.append(name)
            return super().__getattribute__(name)

    module = Module("m")
    module.__dict__.update(app=func.FunctionApp(), costly=1, other=2)
    find_function_app(module)
    assert {"app", "costly", "other"} <= set(read)
