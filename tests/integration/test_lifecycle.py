"""The app's life in a host: its clients are closed when the host stops (no `Unclosed connector` on Ctrl-C)."""

from __future__ import annotations

from devstack.azurite import Azurite
from sandbox.process import SandboxProcess
from tests.integration.conftest import run_app, wait_until


def test_stopping_the_host_closes_the_apps_upstream_and_storage_clients(
    azurite: Azurite, sandbox: SandboxProcess
) -> None:
    app = run_app(azurite, sandbox)
    try:
        assert app.client.get("/api/health").status_code == 200  # storage clients open
        published = app.client.post("/api/inquba/events", json={"eventDefinitionCode": "LIFECYCLE"})
        assert published.status_code == 200, published.text  # the upstream client's pool holds a connection
    finally:
        app.client.close()
        assert app.process.stop() == 0
    wait_until(lambda: "stopped" in app.output)  # the runner's last line: the output is complete
    assert "Unclosed" not in app.output, app.output[-3000:]
