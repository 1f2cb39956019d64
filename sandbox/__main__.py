"""`python -m sandbox [--host H] [--port P] [--config JSON|@file] [--chaos] [--access-log]`.

Prints exactly one line, `SANDBOX_URL=http://HOST:PORT`, on stdout once listening; logs go to
stderr. Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.config import CHAOS_ERROR_RATES, ConfigError
from sandbox.server import create_app

URL_PREFIX = "SANDBOX_URL="


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--config", help="initial config overrides: a JSON object, or @path to a JSON file")
    parser.add_argument("--chaos", action="store_true", help=f"start with error_rates={CHAOS_ERROR_RATES}")
    parser.add_argument("--access-log", action="store_true", help="log every request on stderr")
    return parser.parse_args(argv)


def initial_config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if args.chaos:
        config["error_rates"] = dict(CHAOS_ERROR_RATES)
    if args.config:
        text = Path(args.config[1:]).read_text() if args.config.startswith("@") else args.config
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise SystemExit("--config must be a JSON object")
        config.update(loaded)
    return config


async def serve(args: argparse.Namespace) -> None:
    app = create_app(initial_config(args))
    # handler_cancellation: a client that gives up on a held request cancels its handler.
    runner = web.AppRunner(
        app,
        access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
        handler_cancellation=True,
        shutdown_timeout=2.0,
    )
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    url_host = f"[{host}]" if ":" in host else host
    print(f"{URL_PREFIX}http://{url_host}:{port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(args))
    except ConfigError as exc:
        raise SystemExit(f"invalid sandbox config: {exc}") from exc


if __name__ == "__main__":
    main()
