"""`python -m local_runner`: run an Azure Functions (Python v2) app locally without Core Tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from local_runner.app_loader import load_app
from local_runner.errors import StartupError
from local_runner.host import DEFAULT_GRACE_SECONDS, LocalHost
from local_runner.settings import apply_local_settings, read_local_settings

log = logging.getLogger("local_runner")

DEFAULT_PORT = 7071
READY_MARKER = "LOCAL_RUNNER_READY"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runner", description=__doc__)
    parser.add_argument("--app-dir", default=".", help="folder with function_app.py, host.json and "
                        "local.settings.json (default: current folder)")
    parser.add_argument("--module", default="function_app", help="module defining `app` (default: function_app)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"HTTP port (default: $APP_PORT, else local.settings.json Host.LocalHttpPort, "
                             f"else {DEFAULT_PORT}; 0 picks a free port)")
    parser.add_argument("--grace-seconds", type=float, default=DEFAULT_GRACE_SECONDS,
                        help=f"on SIGINT/SIGTERM, how long running invocations may finish "
                             f"(default: {DEFAULT_GRACE_SECONDS:g})")
    parser.add_argument("--log-level", default=os.environ.get("LOCAL_RUNNER_LOG_LEVEL", "INFO"),
                        help="logging level (default: $LOCAL_RUNNER_LOG_LEVEL or INFO)")
    return parser.parse_args(argv)


def configure_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every request at INFO


def choose_port(cli_port: int | None, app_dir: Path) -> int:
    if cli_port is not None:
        return cli_port
    env_port = os.environ.get("APP_PORT")
    if env_port:
        try:
            return int(env_port)
        except ValueError as exc:
            raise StartupError(f"APP_PORT must be a port number, got {env_port!r}") from exc
    host_section = read_local_settings(app_dir).get("Host") or {}
    if isinstance(host_section, dict) and host_section.get("LocalHttpPort"):
        try:
            return int(host_section["LocalHttpPort"])
        except (TypeError, ValueError) as exc:
            raise StartupError("local.settings.json Host.LocalHttpPort must be a port number") from exc
    return DEFAULT_PORT


async def serve(host: LocalHost) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.error("second %s: exiting immediately", signal.Signals(signum).name)
            os._exit(1)
        log.info("%s received: shutting down (grace period %gs)", signal.Signals(signum).name, host.grace_seconds)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except NotImplementedError:  # Windows: fall back to plain signal handlers
            signal.signal(signum, lambda s, _frame: loop.call_soon_threadsafe(on_signal, s))
    await host.start()
    for line in host.banner_lines():
        print(line)
    print(f"{READY_MARKER} {host.url}", flush=True)
    await stop.wait()
    await host.stop()
    log.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    app_dir = Path(args.app_dir).resolve()
    try:
        if not app_dir.is_dir():
            raise StartupError(f"app directory {app_dir} does not exist")
        apply_local_settings(app_dir)
        port = choose_port(args.port, app_dir)
        os.chdir(app_dir)  # like the worker, the app runs from its own folder
        app = load_app(app_dir, args.module)
        host = LocalHost(app, app_dir=app_dir, host=args.host, port=port, grace_seconds=args.grace_seconds)
        return asyncio.run(serve(host))
    except StartupError as exc:
        print(f"local_runner: error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
