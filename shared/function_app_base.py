"""The app's `FunctionApp`: azure.functions' own, whose `get_functions()` may be asked more than once."""

from __future__ import annotations

import azure.functions as func


class FunctionApp(func.FunctionApp):
    """`get_functions()` builds the functions once and answers the same list afterwards.

    azure.functions raises on a second call (every name is then "not unique"); the worker calls it once when it
    indexes the app, and the OpenAPI document reads the same metadata again, so the first answer is kept.
    """

    _built: list[func.Function] | None = None

    def get_functions(self) -> list[func.Function]:
        if self._built is None:
            self._built = super().get_functions()
        return self._built
