"""checkov over both network variants of the Bicep, each against its own table of documented skips.

checkov reads Bicep statically: it replaces a parameter by its default, but it cannot evaluate
main.bicep's `isPrivate ? 'Disabled' : 'Enabled'` or follow a module call into the module. It sees
every module with the defaults of its own parameters, which are the public variant's, so
`checkov -d infra` checks network = 'public'.

For network = 'private' the test writes a copy of infra/ to a temporary folder with exactly three
kinds of change (test_private_copy_changes_only_the_network_defaults_and_skips asserts that no
other line differs):
* main.bicep's `network` defaults to 'private';
* every enumerated (@allowed) module parameter that main.bicep passes as `isPrivate ? X : Y`
  defaults to X, the value a private deployment passes. The list comes from the pycep parse of
  main.bicep, not from this file, so a new switch is followed without editing the test;
* the skip comments marked "network=public only" are dropped: they exist only because the public
  variant has no virtual network, so the private copy has to pass those checks for real.
Each variant has its own table in infra/checkov-skips.md; a skip must be in its variant's table
with a reason, and checkov's skipped count must equal the number of skip comments (no idle skip).
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.helpers import CHECKOV, INFRA, SKIPS_DOC, bicep_sources, decorators, module, require_infra_venv

PUBLIC_ONLY = "network=public only"
# The skips that exist only for want of a virtual network; the private variant passes these checks.
NETWORK_SKIPS = {"CKV_AZURE_35", "CKV_AZURE_59", "CKV_AZURE_109", "CKV_AZURE_189"}
SKIP = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)\s*:?\s*(.*)$", re.MULTILINE)

Flips = dict[str, dict[str, tuple[str, str]]]


def _skip_comments(folder: Path) -> list[tuple[str, str, str]]:
    """(file, check, reason) of every inline skip under `folder`."""
    found = []
    for file, text in bicep_sources(folder).items():
        for match in SKIP.finditer(text):
            found.append((file, match[1], match[2].strip()))
    return found


def _table_rows(heading: str) -> list[str]:
    """The table rows of one '## ' section of checkov-skips.md."""
    section = SKIPS_DOC.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def _private_flips(templates: dict[str, dict]) -> Flips:
    """file -> {parameter: (public default, private value)}: what a network = 'private' deployment changes."""
    main = templates["main.bicep"]
    flips: Flips = {"main.bicep": {"network": ("public", "private")}}
    for name, call in main["modules"].items():
        file = call["detail"]["path"]
        declared = templates[file]["parameters"]
        for param, expr in module(main, name)[0]["params"].items():
            operator = expr.get("operator") if isinstance(expr, dict) else None
            if not isinstance(operator, dict) or operator["type"] != "conditional":
                continue
            operands = operator["operands"]
            private, public = operands["true_value"], operands["false_value"]
            # pycep writes a string literal and a variable reference alike; @allowed tells literals.
            allowed = decorators(declared[param]).get("allowed") or []
            if operands["condition"] == "isPrivate" and private in allowed and public in allowed:
                flips.setdefault(file, {})[param] = (public, private)
    return flips


def _write_private_copy(dest: Path, flips: Flips) -> None:
    for file, text in bicep_sources().items():
        text = "".join(
            line for line in text.splitlines(keepends=True) if not (SKIP.search(line) and PUBLIC_ONLY in line)
        )
        for param, (public, private) in flips.get(file, {}).items():
            text, count = re.subn(rf"^(param {param} \w+ = )'{public}'$", rf"\g<1>'{private}'", text, flags=re.M)
            assert count == 1, f"{file}: no line `param {param} ... = '{public}'` to switch"
        (dest / file).parent.mkdir(parents=True, exist_ok=True)
        (dest / file).write_text(text, encoding="utf-8")


def _checkov(folder: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """One checkov run over `folder` (with passed checks in the report), and the process."""
    require_infra_venv()
    assert CHECKOV.exists(), "checkov is missing from .venv-infra: pip install -r requirements-infra.txt"
    proc = subprocess.run(
        [str(CHECKOV), "-d", folder.name, "--framework", "bicep", "--skip-download", "-o", "json"],
        cwd=folder.parent,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    assert len(reports) == 1, [r.get("check_type") for r in reports]
    return reports[0], proc


@pytest.fixture(scope="module")
def private_copy(templates: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("private") / "infra"
    _write_private_copy(dest, _private_flips(templates))
    return dest


@pytest.fixture(scope="module")
def public_run() -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    return _checkov(INFRA)


@pytest.fixture(scope="module")
def private_run(private_copy: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    return _checkov(private_copy)


def _assert_passes_with_documented_skips(
    run: tuple[dict[str, Any], subprocess.CompletedProcess[str]], folder: Path, heading: str
) -> set[str]:
    """No failure, and every skip of `folder` is in the section `heading`, which lists no other; the skipped IDs."""
    report, proc = run
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 0

    skips = _skip_comments(folder)
    # Each inline skip suppresses a check that really applies (checkov counts it as skipped).
    assert summary["skipped"] == len(skips), (summary, skips)
    rows = _table_rows(heading)
    for file, check, reason in skips:
        assert len(reason) > 20, f"{file}: {check} needs a reason"
        assert any(check in row and file in row for row in rows), f"{check} in {file} is not in '{heading}'"
    documented = {m for row in rows for m in re.findall(r"CKV2?_AZURE_\d+", row)}
    skipped = {c for _, c, _ in skips}
    assert documented == skipped, f"'{heading}' of {SKIPS_DOC.name} lists a check that is not skipped"
    return skipped


def test_checkov_passes_on_the_public_variant_with_its_documented_skips(
    public_run: tuple[dict[str, Any], subprocess.CompletedProcess[str]],
) -> None:
    skipped = _assert_passes_with_documented_skips(public_run, INFRA, "Public variant (default)")
    tagged = {check for _, check, reason in _skip_comments(INFRA) if reason.startswith(PUBLIC_ONLY)}
    assert tagged == NETWORK_SKIPS
    assert skipped >= NETWORK_SKIPS


def test_private_copy_changes_only_the_network_defaults_and_skips(
    templates: dict[str, dict], private_copy: Path
) -> None:
    flips = _private_flips(templates)
    # The switches main.bicep has today; a new one shows up here and in the docs' private table.
    assert flips == {
        "main.bicep": {"network": ("public", "private")},
        "app/storage.bicep": {
            "publicNetworkAccess": ("Enabled", "Disabled"),
            "networkDefaultAction": ("Allow", "Deny"),
        },
        "app/keyvault.bicep": {
            "publicNetworkAccess": ("Enabled", "Disabled"),
            "networkDefaultAction": ("Allow", "Deny"),
        },
    }
    copied = bicep_sources(private_copy)
    assert set(copied) == set(bicep_sources())
    for file, text in bicep_sources().items():
        changes = list(difflib.ndiff(text.splitlines(), copied[file].splitlines()))
        removed = sorted(line[2:] for line in changes if line.startswith("- "))
        added = sorted(line[2:] for line in changes if line.startswith("+ "))
        declared = templates[file]["parameters"]
        switched = flips.get(file, {})
        assert added == sorted(f"param {p} {declared[p]['type']} = '{new}'" for p, (_, new) in switched.items())
        assert removed == sorted(
            [f"param {p} {declared[p]['type']} = '{old}'" for p, (old, _) in switched.items()]
            + [line for line in text.splitlines() if SKIP.search(line) and PUBLIC_ONLY in line]
        ), file


def test_checkov_passes_on_the_private_variant_without_the_network_skips(
    public_run: tuple[dict[str, Any], subprocess.CompletedProcess[str]],
    private_run: tuple[dict[str, Any], subprocess.CompletedProcess[str]],
    private_copy: Path,
) -> None:
    skipped = _assert_passes_with_documented_skips(private_run, private_copy, "Private variant")
    public = {c["check_id"] for c in public_run[0]["results"]["skipped_checks"]}
    assert skipped == public - NETWORK_SKIPS
    # The checks are not just unskipped: they pass on the storage account and the vault.
    passed = {(c["check_id"], c["resource"]) for c in private_run[0]["results"]["passed_checks"]}
    storage, vault = "Microsoft.Storage/storageAccounts.storage", "Microsoft.KeyVault/vaults.vault"
    assert {("CKV_AZURE_35", storage), ("CKV_AZURE_59", storage)} <= passed
    assert {("CKV_AZURE_109", vault), ("CKV_AZURE_189", vault)} <= passed
