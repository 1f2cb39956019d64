"""The integration fixtures (Azurite, the sandbox, the app in the local runner), for the API document's tests."""

from tests.integration.conftest import *  # noqa: F403
from tests.integration.conftest import app, run_app, sandbox, upstream

__all__ = ["app", "run_app", "sandbox", "upstream"]
