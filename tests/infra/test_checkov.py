"""checkov runs its Azure policies over the Bicep (`--skip-download`, no network).

Every inline skip must be in infra/checkov-skips.md with a reason, and checkov's skipped count must
equal the number of skip comments (no idle skip).
"""

from __future__ import annotations

import json
import re
import subprocess

from tests.infra.helpers import CHECKOV, ROOT, SKIPS_DOC, bicep_sources, require_infra_venv


def _skip_comments() -> list[tuple[str, str, str]]:
    found = []
    for file, text in bicep_sources().items():
        for match in re.finditer(r"//\s*checkov:skip=([A-Z0-9_]+)\s*:?\s*(.*)$", text, re.MULTILINE):
            found.append((file, match[1], match[2].strip()))
    return found


def test_checkov_passes_and_every_skip_is_documented() -> None:
    require_infra_venv()
    assert CHECKOV.exists(), "checkov is missing from .venv-infra: pip install -r requirements-infra.txt"
    proc = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "bicep", "--skip-download", "--quiet", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 0

    skips = _skip_comments()
    # Each inline skip suppresses a check that really applies (checkov counts it as skipped).
    assert summary["skipped"] == len(skips), (summary, skips)
    doc = SKIPS_DOC.read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("|")]
    for file, check, reason in skips:
        assert len(reason) > 20, f"{file}: {check} needs a reason"
        assert any(check in row and file in row for row in rows), f"{check} in {file} is not in {SKIPS_DOC.name}"
    documented = {(m, row) for row in rows for m in re.findall(r"CKV2?_AZURE_\d+", row)}
    assert {c for c, _ in documented} == {c for _, c, _ in skips}, "checkov-skips.md lists a check that is not skipped"
