"""Run the sandbox as a child process (`python -m sandbox`) and talk to it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sandbox.__main__ import URL_PREFIX
from sandbox.client import SandboxControl

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SandboxProcess:
    """A running sandbox child process; `.url` is its base URL, `.control` its control client."""

    process: subprocess.Popen[bytes]
    url: str
    control: SandboxControl = field(init=False)

    def __post_init__(self) -> None:
        self.control = SandboxControl(self.url)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate (SIGTERM) and wait; kill if it does not exit within `timeout`."""
        self.control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _first_line(stream: IO[bytes], lines: queue.Queue[bytes]) -> None:
    lines.put(stream.readline())


def start_sandbox(
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    config: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> SandboxProcess:
    """Start `python -m sandbox` (port None or 0: a free port) and wait for its URL line."""
    command = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port or 0)]
    if config:
        command += ["--config", json.dumps(config)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_first_line, args=(process.stdout, lines), daemon=True).start()
    try:
        line = lines.get(timeout=timeout).decode().strip()
    except queue.Empty:
        line = ""
    if not line.startswith(URL_PREFIX):
        process.kill()
        process.wait()
        raise RuntimeError(f"sandbox did not report its URL within {timeout}s (exit code {process.poll()})")
    return SandboxProcess(process, line[len(URL_PREFIX) :])
