"""scripts/deploy.sh: shellcheck, and runs end to end against a fake `az` in a small fake project.

The fake `az` (FAKE_AZ) logs every call and the environment the deployment would compile
infra/main.bicepparam with, and answers the few queries the script makes; no Azure is involved.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.infra.helpers import DEPLOY_SCRIPT


def test_deploy_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (apt-get install -y shellcheck; the Makefile installs it)")
    proc = subprocess.run([shellcheck, str(DEPLOY_SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deploy_script_is_executable_bash_with_strict_mode() -> None:
    text = DEPLOY_SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert "set -x" not in text
    assert DEPLOY_SCRIPT.stat().st_mode & stat.S_IXUSR
    for flag in ("--resource-group", "--location", "--name-prefix", "--network", "--what-if", "--skip-code"):
        assert flag in text


FAKE_AZ = r"""#!/usr/bin/env bash
# Stand-in for the Azure CLI: logs every call, answers the few queries deploy.sh makes.
set -euo pipefail
printf '%s\n' "$*" >> "$FAKE_AZ_LOG"
case "$*" in
  "account show"*)
    [[ -z "${FAKE_AZ_LOGGED_OUT:-}" ]] || { echo "Please run 'az login' to setup account." >&2; exit 1; }
    printf 'Test subscription\n00000000-0000-0000-0000-000000000000\n' ;;
  "group show"*)
    [[ -n "${FAKE_AZ_GROUP_LOCATION:-}" ]] || { echo "ResourceGroupNotFound" >&2; exit 3; }
    printf '%s\n' "$FAKE_AZ_GROUP_LOCATION" ;;
  "functionapp list-flexconsumption-locations"*) printf 'eastus\nswedencentral\nwesteurope\n' ;;
  "group create"*) ;;
  "deployment group create"* | "deployment group what-if"*)
    for var in NAME_PREFIX INQUBA_TOKEN_HOST INQUBA_TENANT INQUBA_USERNAME INQUBA_CLIENT_ID \
               INSIDER_PARTNER_NAME INQUBA_PASSWORD INQUBA_CLIENT_SECRET INSIDER_API_KEY; do
      [[ -n "${!var:-}" ]] && printf 'env %s is set\n' "$var" >> "$FAKE_AZ_LOG"
    done
    printf 'NETWORK=%s\n' "$NETWORK" >> "$FAKE_AZ_LOG"
    [[ "$*" != *"deployment group create"* ]] || printf 'NAME_PREFIX=%s\n' "$NAME_PREFIX" >> "$FAKE_AZ_LOG" ;;
  "deployment group show"*)
    # Outputs in the order of the query; outboundIpAddress is empty unless network = private.
    ip=""; [[ "$NETWORK" != private ]] || ip="203.0.113.7"
    printf 'fake-func-abc\nhttps://fake-func-abc.azurewebsites.net/api\nfake-appi-abc\n%s\n' "$ip" ;;
  "functionapp deployment source config-zip"*)
    src=""; prev=""
    for arg in "$@"; do [[ "$prev" == "--src" ]] && src="$arg"; prev="$arg"; done
    cp "$src" "$FAKE_AZ_ZIP" ;;
  *) echo "fake az: unexpected call: $*" >&2; exit 2 ;;
esac
"""

SECRETS = {
    "INQUBA_PASSWORD": "pw-Th1s-Must-N0t-Leak",
    "INQUBA_CLIENT_SECRET": "cs-Th1s-Must-N0t-Leak",
    "INSIDER_API_KEY": "ak-Th1s-Must-N0t-Leak",
}
CONFIG = {
    "INQUBA_TOKEN_HOST": "id.inqubacx.com",
    "INQUBA_TENANT": "acme",
    "INQUBA_USERNAME": "svc-user",
    "INQUBA_CLIENT_ID": "client-1",
    "INSIDER_PARTNER_NAME": "acme",
}


@pytest.fixture
def fake_repo(tmp_path: Path) -> dict[str, Any]:
    """A copy of deploy.sh in a small fake project, and a fake `az` first on PATH."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(DEPLOY_SCRIPT, repo / "scripts" / "deploy.sh")
    (repo / "infra").mkdir()
    (repo / "infra" / "main.bicepparam").write_text("using 'main.bicep'\n")
    files = {
        "function_app.py": "import azure.functions as func\n",
        "host.json": "{}\n",
        "requirements.txt": "azure-functions\n",
        "shared/__init__.py": "",
        "shared/settings.py": "X = 1\n",
        "shared/__pycache__/settings.cpython-311.pyc": "",
        "tests/test_app.py": "",
        "tests/infra/test_deploy_script.py": "",
        ".venv/bin/python": "",
        ".venv-infra/bin/python": "",
        "node_modules/azurite/index.js": "",
        ".git/config": "",
        "local.settings.json": "{}",
        "sandbox/tool.py": "",
        "sandbox/keep.py": "",
        "docs/notes.md": "",
        "notes.tmp": "",
    }
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (repo / ".funcignore").write_text("# project-specific\nsandbox/*\n!sandbox/keep.py\n*.tmp\n/docs\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    prefixes = ("AZURE_", "INQUBA_", "INSIDER_", "NAME_PREFIX", "NETWORK", "ALERT_", "PAGE_AUTH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(CONFIG)
    env.update(SECRETS)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        FAKE_AZ_LOG=str(tmp_path / "az.log"),
        FAKE_AZ_ZIP=str(tmp_path / "deployed.zip"),
        ZIP_DEPLOY_RETRY_SECONDS="0",
    )
    return {"repo": repo, "env": env, "log": tmp_path / "az.log", "zip": tmp_path / "deployed.zip"}


def _run_deploy(
    fake: dict[str, Any], *args: str, without: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the fake project's deploy.sh with its environment, less `without`, plus `env`."""
    base = {k: v for k, v in fake["env"].items() if k not in without}
    return subprocess.run(
        ["bash", str(fake["repo"] / "scripts" / "deploy.sh"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _calls(fake: dict[str, Any]) -> list[str]:
    return fake["log"].read_text().splitlines() if fake["log"].exists() else []


def _assert_no_secret_leaks(fake: dict[str, Any], proc: subprocess.CompletedProcess[str]) -> None:
    seen = proc.stdout + proc.stderr + "\n".join(_calls(fake))
    for value in SECRETS.values():
        assert value not in seen


def test_deploy_script_deploys_infra_and_code(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(
        fake_repo, "--resource-group", "rg-test", "--location", "Sweden Central", "--name-prefix", "iqtest"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    param_file = fake_repo["repo"] / "infra" / "main.bicepparam"
    assert calls[0].startswith("account show")
    assert any(c.startswith("group create --name rg-test --location swedencentral") for c in calls)
    create = [c for c in calls if c.startswith("deployment group create")]
    assert len(create) == 1 and f"--parameters {param_file}" in create[0] and "--resource-group rg-test" in create[0]
    for var in ("NAME_PREFIX", *CONFIG, *SECRETS):
        assert f"env {var} is set" in calls, f"{var} did not reach az (main.bicepparam reads it)"
    assert "NAME_PREFIX=iqtest" in calls
    assert "NETWORK=public" in calls, "the default deployment is the public one"
    zip_call = [c for c in calls if c.startswith("functionapp deployment source config-zip")]
    assert len(zip_call) == 1
    assert "--resource-group rg-test --name fake-func-abc" in zip_call[0] and "--build-remote true" in zip_call[0]
    _assert_no_secret_leaks(fake_repo, proc)

    with zipfile.ZipFile(fake_repo["zip"]) as archive:
        names = set(archive.namelist())
    assert {
        "function_app.py",
        "host.json",
        "requirements.txt",
        "shared/__init__.py",
        "shared/settings.py",
        "sandbox/keep.py",
    } <= names
    for excluded in (
        "tests/",
        ".venv/",
        ".venv-infra/",
        "node_modules/",
        ".git/",
        "__pycache__/",
        "infra/",
        "scripts/",
        "docs/",
    ):
        assert not any(n.startswith(excluded) or f"/{excluded}" in n for n in names), excluded
    assert not names & {"local.settings.json", "notes.tmp", "sandbox/tool.py"}

    assert "https://fake-func-abc.azurewebsites.net/api" in proc.stdout
    assert (
        "az functionapp keys list --resource-group rg-test --name fake-func-abc "
        "--query functionKeys.default --output tsv"
    ) in proc.stdout
    assert "Outbound IP" not in proc.stdout


def test_deploy_script_private_network_shows_the_outbound_ip(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(
        fake_repo, "-g", "rg-test", "--network", "private", "--skip-code", FAKE_AZ_GROUP_LOCATION="westeurope"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    assert [c for c in calls if c.startswith("NETWORK=")] == ["NETWORK=private"]
    assert "(private network)" in proc.stdout
    assert "Outbound IP:   203.0.113.7" in proc.stdout
    _assert_no_secret_leaks(fake_repo, proc)

    # The environment variable works as the flag does; --network wins over it.
    proc = _run_deploy(fake_repo, "-g", "rg-test", "--what-if", NETWORK="private", FAKE_AZ_GROUP_LOCATION="westeurope")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any(c.startswith("deployment group what-if") for c in _calls(fake_repo))
    assert _calls(fake_repo)[-1] == "NETWORK=private"
    proc = _run_deploy(
        fake_repo,
        "-g",
        "rg-test",
        "--network=public",
        "--what-if",
        NETWORK="private",
        FAKE_AZ_GROUP_LOCATION="westeurope",
    )
    assert proc.returncode == 0 and _calls(fake_repo)[-1] == "NETWORK=public", proc.stderr


def test_deploy_script_is_idempotent_on_an_existing_group(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "--skip-code", FAKE_AZ_GROUP_LOCATION="swedencentral")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    assert not any(c.startswith("group create") for c in calls)
    assert any(c.startswith("deployment group create") for c in calls)
    assert not any("config-zip" in c for c in calls)
    assert "NAME_PREFIX=inqins" in calls
    assert "az functionapp keys list --resource-group rg-test --name fake-func-abc" in proc.stdout


def test_deploy_script_what_if_changes_nothing(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "--what-if", FAKE_AZ_GROUP_LOCATION="swedencentral")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    assert any(c.startswith("deployment group what-if") for c in calls)
    assert not any(c.startswith(("group create", "deployment group create")) or "config-zip" in c for c in calls)
    _assert_no_secret_leaks(fake_repo, proc)


def test_deploy_script_refuses_without_login_or_settings(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "-l", "swedencentral", FAKE_AZ_LOGGED_OUT="1")
    assert proc.returncode != 0
    assert "az login" in proc.stderr
    assert _calls(fake_repo) == ["account show --query [name, id] --output tsv"]

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", without=("INQUBA_PASSWORD", "INSIDER_PARTNER_NAME"))
    assert proc.returncode != 0
    assert "INSIDER_PARTNER_NAME INQUBA_PASSWORD" in proc.stderr
    _assert_no_secret_leaks(fake_repo, proc)

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", INSIDER_PARTNER_NAME="Acme")
    assert proc.returncode != 0 and "INSIDER_PARTNER_NAME must be lowercase" in proc.stderr

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "mars")
    assert proc.returncode != 0 and "Flex Consumption" in proc.stderr

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", "--name-prefix", "Bad_Prefix")
    assert proc.returncode != 0 and "--name-prefix" in proc.stderr

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", "--network", "vnet")
    assert proc.returncode != 0 and "invalid --network 'vnet'" in proc.stderr

    # The sign-in needs both the group and the app registration.
    proc = _run_deploy(
        fake_repo, "-g", "rg", "-l", "westeurope", PAGE_AUTH_GROUP_ID="00000000-0000-0000-0000-0000000000aa"
    )
    assert proc.returncode != 0 and "PAGE_AUTH_CLIENT_ID" in proc.stderr
    assert not [c for c in _calls(fake_repo) if c.startswith("deployment")], "refused before deploying"
