"""CLI behaviour that needs no storage: port choice and start-up errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_runner.__main__ import choose_port, main, parse_args

from .conftest import SAMPLE_APP_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    args = parse_args([])
    assert (args.app_dir, args.module, args.host, args.port, args.grace_seconds) == (
        ".", "function_app", "127.0.0.1", None, 30.0)


def test_port_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_PORT", raising=False)
    assert choose_port(None, tmp_path) == 7071
    (tmp_path / "local.settings.json").write_text(json.dumps({"Host": {"LocalHttpPort": 7100}}))
    assert choose_port(None, tmp_path) == 7100
    monkeypatch.setenv("APP_PORT", "7200")
    assert choose_port(None, tmp_path) == 7200
    assert choose_port(7300, tmp_path) == 7300


def test_missing_app_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app-dir", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_startup_error_names_the_missing_setting(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(SAMPLE_APP_DIR, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "local_runner", "--app-dir", str(app_dir), "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert result.returncode == 1
    assert "app setting 'OK_QUEUE'" in result.stderr
    assert "LOCAL_RUNNER_READY" not in result.stdout
