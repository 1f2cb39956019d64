"""Run the Function app as a child process: `func start` when Core Tools exist, else the local runner."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FUNCTION_KEY = "local-dev-function-key"


def local_settings(app_dir: Path = ROOT) -> dict[str, str]:
    """`Values` of local.settings.json, or nothing when the file does not exist."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    return {k: str(v) for k, v in json.loads(path.read_text()).get("Values", {}).items()}


@dataclass
class AppProcess:
    process: subprocess.Popen[str]
    base_url: str
    function_key: str
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 40.0) -> int:
        """Ctrl-C, like a person would; the runner finishes in-flight work and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """A crash: no clean-up, in-flight messages reappear only after their visibility timeout."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pump(stream, sink: list[str], echo: bool) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        sink.append(line)
        if echo:
            sys.stderr.write(line)


def start_app(
    env: dict[str, str],
    port: int,
    *,
    app_dir: Path = ROOT,
    echo: bool = False,
    timeout: float = 60.0,
    use_func: bool | None = None,
) -> AppProcess:
    """Start the app on `port` with `env` and wait until /api/health answers (any status)."""
    use_func = shutil.which("func") is not None if use_func is None else use_func
    if use_func:
        command = ["func", "start", "--port", str(port), "--python"]
    else:
        command = [sys.executable, "-m", "local_runner", "--app-dir", str(app_dir), "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    output: list[str] = []
    threading.Thread(target=_pump, args=(process.stdout, output, echo), daemon=True).start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError("the app exited during start-up:\n" + "".join(output[-60:]))
        try:
            httpx.get(f"{base_url}/api/health", timeout=5.0)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the app did not answer within {timeout}s:\n" + "".join(output[-60:])) from None
            time.sleep(0.1)
    return AppProcess(process, base_url, env.get("LOCAL_FUNCTION_KEY", DEFAULT_FUNCTION_KEY), output)


def app_environment(overrides: dict[str, str], app_dir: Path = ROOT) -> dict[str, str]:
    """The child's environment: this process's, then local.settings.json, then `overrides` where unset."""
    env = dict(os.environ)
    for source in (local_settings(app_dir), overrides):
        for name, value in source.items():
            env.setdefault(name, value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
