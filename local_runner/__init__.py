"""A local stand-in for the Azure Functions host (Core Tools `func start`) for Python v2 apps.

Generic: it knows Azure Functions, not any particular app. See README.md.
"""

from local_runner.app_loader import load_app
from local_runner.errors import StartupError
from local_runner.host import LocalHost
from local_runner.host_config import HostConfig, QueuesOptions, load_host_config
from local_runner.keys import Keys
from local_runner.settings import apply_local_settings

__all__ = [
    "HostConfig",
    "Keys",
    "LocalHost",
    "QueuesOptions",
    "StartupError",
    "apply_local_settings",
    "load_app",
    "load_host_config",
]
