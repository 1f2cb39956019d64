"""Start the project-local Azurite (from node_modules) on free loopback ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite"
# The well-known development account key is public; it only opens the local emulator.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(blob_port: int, queue_port: int, table_port: int, host: str = "127.0.0.1") -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue_port}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://{host}:{table_port}/{DEV_ACCOUNT};"
    )


@dataclass
class Azurite:
    """A running Azurite process and how to reach it."""

    location: Path
    blob_port: int
    queue_port: int
    table_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    def start(self, timeout: float = 60.0) -> Azurite:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"{AZURITE_BIN} is missing: run `npm install` (make does it for you)")
        self.location.mkdir(parents=True, exist_ok=True)
        log = open(self.location / "azurite.log", "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [
                str(AZURITE_BIN), "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                "--location", str(self.location),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
                "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
                "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ports = (self.blob_port, self.queue_port, self.table_port)
        pending = set(ports)
        while pending:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited early, see {self.location / 'azurite.log'}")
            for port in list(pending):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
                    pending.discard(port)
                except httpx.TransportError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"Azurite did not listen on {sorted(pending)} within {timeout}s")
            if pending:
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_azurite(
    location: Path,
    blob_port: int | None = None,
    queue_port: int | None = None,
    table_port: int | None = None,
    fresh: bool = False,
) -> Azurite:
    """Start Azurite with its data in `location`; each port falls back to a free one."""
    if fresh and location.exists():
        shutil.rmtree(location)
    blob = free_port(blob_port)
    queue = free_port(queue_port if queue_port not in (blob,) else None)
    table = free_port(table_port if table_port not in (blob, queue) else None)
    return Azurite(location, blob, queue, table).start()


def env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))
