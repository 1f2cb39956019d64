"""Import the app module (`function_app` by default) from the app directory and return its `app`."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

from local_runner.errors import StartupError

log = logging.getLogger("local_runner.app")


def load_app(app_dir: Path | str, module_name: str = "function_app") -> Any:
    """Put `app_dir` first on `sys.path`, import `module_name` and return its `app` attribute."""
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
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "get_functions"):
        raise StartupError(f"module '{module_name}' ({getattr(module, '__file__', '?')}) has no FunctionApp "
                           "named 'app'")
    return app
