"""Find the app as the Python worker indexes a v2 app: import `function_app`, scan every module attribute.

The worker (`azure_functions_worker/loader.py`, `index_function_app`, in Azure/azure-functions-python-worker)
does `for name in module.__dir__(): isinstance(getattr(module, name, None), FunctionRegister)`, takes the one
`FunctionRegister` it finds and raises `ValueError` when there are none or more than one. The `getattr` reads
every top-level name, so whatever a name costs to read is paid on every cold start; doing the same here keeps
the tests on that path.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from local_runner.errors import StartupError

log = logging.getLogger("local_runner.app")


def find_function_app(module: ModuleType, script_file_name: str = "function_app.py") -> Any:
    """The module's one `FunctionRegister`, found by reading every attribute as the worker does.

    Raises `ValueError` with the worker's own messages when there is none or more than one.
    """
    from azure.functions import FunctionRegister

    app: Any = None
    for name in module.__dir__():
        value = getattr(module, name, None)
        if isinstance(value, FunctionRegister):
            if app is None:
                app = value
            else:
                raise ValueError(f"More than one {app.__class__.__name__} or other top level function app "
                                 "instances are defined.")
    if app is None:
        raise ValueError(f"Could not find top level function app instances in {script_file_name}.")
    return app


def load_app(app_dir: Path | str, module_name: str = "function_app") -> Any:
    """Put `app_dir` first on `sys.path`, import `module_name` and index it as the worker does."""
    directory = Path(app_dir).resolve()
    if not directory.is_dir():
        raise StartupError(f"app directory {directory} does not exist")
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    existing = sys.modules.get(module_name)
    if existing is not None:
        module_file = getattr(existing, "__file__", None)
        if module_file is None or directory not in Path(module_file).resolve().parents:
            raise StartupError(f"a module named '{module_name}' is already imported from {module_file}, "
                               f"not from {directory}")
        module = existing
    else:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            log.exception("importing %s from %s failed", module_name, directory)
            raise StartupError(f"cannot import '{module_name}' from {directory}: {exc}") from exc
    try:
        return find_function_app(module, f"{module_name}.py")
    except ValueError as exc:
        raise StartupError(f"indexing '{module_name}' ({getattr(module, '__file__', '?')}) failed: {exc}") from exc
