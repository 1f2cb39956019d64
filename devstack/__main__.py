"""`make run`: Azurite, the sandbox upstreams and the app, with settings from the environment winning."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.app_process import DEFAULT_FUNCTION_KEY, ROOT, app_environment, start_app
from devstack.azurite import start_azurite
from devstack.ports import free_port
from devstack.sandbox_settings import sandbox_settings
from sandbox.process import start_sandbox


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=str(ROOT / ".local" / "azurite"))
    args = parser.parse_args()
    # Handlers, not a blocked signal mask: children inherit a mask, and would then never see Ctrl-C.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    azurite = start_azurite(
        Path(args.data_dir),
        blob_port=int(os.environ.get("AZURITE_BLOB_PORT", 10000)),
        queue_port=int(os.environ.get("AZURITE_QUEUE_PORT", 10001)),
        table_port=int(os.environ.get("AZURITE_TABLE_PORT", 10002)),
    )
    sandbox = start_sandbox(int(os.environ["SANDBOX_PORT"]) if os.environ.get("SANDBOX_PORT") else None)
    port = free_port(int(os.environ.get("APP_PORT", 7071)))
    defaults = {
        "AzureWebJobsStorage": azurite.connection_string,
        "LOCAL_FUNCTION_KEY": DEFAULT_FUNCTION_KEY,
        **sandbox_settings(sandbox.url),
    }
    env = app_environment(defaults)
    app = None
    try:
        app = start_app(env, port, echo=True)
        key = app.function_key
        base = app.base_url
        print(
            "\n".join(
                [
                    "",
                    "=" * 72,
                    f"App        {base}/api   (health: {base}/api/health)",
                    f"Key        {key}   (x-functions-key header or ?code=)",
                    f"Operations {base}/api/operations/page   (asks for the key once; outbound logs in its tabs)",
                    f"OpenAPI    {base}/api/openapi.json",
                    f"Storage    Azurite blob:{azurite.blob_port} queue:{azurite.queue_port} "
                    f"table:{azurite.table_port}, data in {azurite.location}",
                    f"Upstreams  {env['INQUBA_API_URL']} (inQuba), {env['INSIDER_API_URL']} (Insider)",
                    f"Sandbox    {sandbox.url}/_control/requests shows what the app sent",
                    "Try it:",
                    f"  curl -s -X POST '{base}/api/inquba/events' -H 'x-functions-key: {key}' \\",
                    "    -H 'content-type: application/json' \\",
                    "    -d '{\"eventDefinitionCode\":\"WELCOME_SMS\",\"isTest\":true,"
                    "\"attributes\":{\"CustomerId\":\"123\"}}'",
                    "Ctrl-C stops everything.",
                    "=" * 72,
                ]
            ),
            flush=True,
        )
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if app is not None:
            app.stop()
        sandbox.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
