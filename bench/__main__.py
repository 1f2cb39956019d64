"""`make bench`: every scenario on Azurite and the sandbox, one table of figures with how each was measured.

`python -m bench --small` runs tiny sizes (the smoke run in `make test`); `--only gateway,queue` runs some;
`--profile DIR` records py-spy flame graphs of the app during the gateway and queue runs.
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
README = Path(__file__).resolve().parent.parent / "README.md"


def table(rows: list[Row], how: bool = True) -> str:
    lines = ["| Figure | This app | The usual way | Ratio | Goal |" + (" How it was measured |" if how else ""),
             "|---|---|---|---|---|" + ("---|" if how else "")]
    lines += [f"| {r.figure} | {r.app} | {r.usual} | {r.ratio} | {r.goal} |" + (f" {r.how} |" if how else "")
              for r in rows]
    return "\n".join(lines)


def machine() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{datetime.date.today().isoformat()}, commit {commit or 'unknown'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, {platform.machine()}, storage: Azurite (local emulator)")


def replace_marked(path: Path, marker: str, content: str) -> None:
    """Replace what lies between `<!-- marker -->` and `<!-- /marker -->` in `path`, keeping the rest."""
    opening, closing = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{opening}\n{closing}\n"
    start, end = text.index(opening), text.index(closing) + len(closing)
    path.write_text(text[:start] + f"{opening}\n{content}\n{closing}" + text[end:])


def write_results(rows: list[Row]) -> None:
    """The table with how each figure was measured into results.md, the figures alone into the README."""
    measured = f"Measured {machine()}."
    replace_marked(RESULTS, "measured", f"{measured}\n\n{table(rows)}")
    replace_marked(README, "bench", f"{measured}\n\n{table(rows, how=False)}")


def figure_order(row: Row) -> tuple[int, str]:
    """ "6b. Start-up ..." -> (6, "b")."""
    number = row.figure.split(".", 1)[0]
    digits = "".join(ch for ch in number if ch.isdigit())
    return int(digits), number[len(digits):]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="tiny sizes: checks the benchmark code, not speed")
    parser.add_argument("--only", default="", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--write", action="store_true", help=f"write the table to {RESULTS.name} and the README")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy flame graphs of the app during the gateway and queue runs, into DIR")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    with tempfile.TemporaryDirectory(prefix="bench-azurite-") as data:
        azurite = start_azurite(Path(data))
        sandbox = start_sandbox(config={"tenants": {"bench": TENANT}})
        bench = Bench(azurite, sandbox, args.small, args.profile)
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
    bench.rows.sort(key=figure_order)  # scenarios run in the order that suits the machine, not the table's
    output = table(bench.rows)
    print(output)
    if args.write:
        write_results(bench.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
