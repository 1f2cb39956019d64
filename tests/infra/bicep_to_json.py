"""Parse every .bicep file under a folder with pycep and print the result as JSON.

Run with the interpreter of the separate infra venv (pycep-parser pins its own dependencies):

    .venv-infra/bin/python tests/infra/bicep_to_json.py infra

Prints one JSON object: {"<path relative to the folder>": {"template": {...}} or {"error": "..."}}.
A file that does not parse is reported, not raised, so the test can name every broken file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pycep import BicepParser


def main(folder: str) -> int:
    root = Path(folder).resolve()
    parser = BicepParser()
    result: dict[str, dict] = {}
    for path in sorted(root.rglob("*.bicep")):
        key = path.relative_to(root).as_posix()
        try:
            result[key] = {"template": parser.parse(file_path=path)}
        except Exception as exc:  # any parse failure is a finding, reported per file
            result[key] = {"error": f"{type(exc).__name__}: {exc}"}
    json.dump(result, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "infra"))
