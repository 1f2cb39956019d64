"""The benchmark with tiny sizes, so its code cannot rot. It measures nothing worth reading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.__main__ import replace_marked

ROOT = Path(__file__).resolve().parents[2]


def test_every_scenario_runs_and_reports_a_row() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--small"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    figures = [row.split("|")[1].strip().split(".")[0] for row in rows]
    assert figures == ["1", "2", "2b", "2c", "3", "3b", "4", "5", "6", "6b", "7", "7b", "7c", "7d", "8", "9"], \
        result.stdout


def test_writing_results_keeps_what_lies_outside_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n<!-- bench -->\nold table\n<!-- /bench -->\n\nAnalysis by hand.\n")
    replace_marked(page, "bench", "new table")
    assert page.read_text() == "# Title\n\n<!-- bench -->\nnew table\n<!-- /bench -->\n\nAnalysis by hand.\n"
