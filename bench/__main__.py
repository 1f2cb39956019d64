"""`make bench`: every scenario on Azurite and the sandbox, one table of figures with how each was measured.

`python -m bench --small` runs tiny sizes (the smoke run in `make test`); `--only gateway,queue` runs some.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.scenarios import SCENARIOS, TENANT, Bench, Row
from devstack.azurite import start_azurite
from sandbox.process import start_sandbox

RESULTS = Path(__file__).with_name("results.md")


def table(rows: list[Row]) -> str:
    lines = ["| Figure | This app | The usual way | Ratio | Goal | How it was measured |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.app} | {r.usual} | {r.ratio} | {r.goal} | {r.how} |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{datetime.date.today().isoformat()}, commit {commit or 'unknown'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, {platform.machine()}, storage: Azurite (local emulator)")


def write_results(output: str) -> None:
    """Replace the measured part of results.md (between its markers), keeping the analysis below it."""
    measured = f"<!-- measured -->\nMeasured {machine()}.\n\n{output}\n<!-- /measured -->"
    if RESULTS.exists() and "<!-- measured -->" in RESULTS.read_text():
        text = RESULTS.read_text()
        start, end = text.index("<!-- measured -->"), text.index("<!-- /measured -->") + len("<!-- /measured -->")
        RESULTS.write_text(text[:start] + measured + text[end:])
    else:
        RESULTS.write_text(f"# Benchmark results\n\n{measured}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="tiny sizes: checks the benchmark code, not speed")
    parser.add_argument("--only", default="", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--write", action="store_true", help=f"write the table to {RESULTS.name}")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    with tempfile.TemporaryDirectory(prefix="bench-azurite-") as data:
        azurite = start_azurite(Path(data))
        sandbox = start_sandbox(config={"tenants": {"bench": TENANT}})
        bench = Bench(azurite, sandbox, args.small)
        try:
            for name in chosen:
                print(f"running {name} ...", file=sys.stderr, flush=True)
                SCENARIOS[name](bench)
        finally:
            sandbox.stop()
            azurite.stop()
    if bench.peak_rss_mb:
        bench.rows.append(Row("8. Memory", ", ".join(f"{k}: {v:.0f} MiB" for k, v in bench.peak_rss_mb.items()),
                              "–", "–", "–", "peak resident set (VmHWM) of the app process of each run"))
    output = table(bench.rows)
    print(output)
    if args.write:
        write_results(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
