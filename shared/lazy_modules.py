"""Modules loaded on first attribute access, so that importing `function_app` stays cheap.

Indexing the app imports `function_app` on every cold start; the storage SDKs, httpx, pydantic and jsonschema
behind the triggers cost about a second to import. With these, a trigger pays for what it uses, when first called.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """`name`, imported now if it already is, else executed when one of its attributes is first read.

    The standard library's `LazyLoader` recipe. Not safe for two threads' first access at once on Python 3.11;
    every trigger of this app is async and runs on the worker's one event loop.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as the import system does, so that `from parent import child` finds it too
        setattr(sys.modules[parent], child, module)
    return module
