"""Write the govbus dashboards to deploy/grafana/dashboards/<uid>.json from their definitions (never edit the JSON:
change :mod:`deploy.grafana.definitions` and run this again; a unit test fails when the files differ from what this
writes).

    pip install -e '.[dashboards]'
    python -m deploy.grafana.generate           # write the files (and remove those of dashboards no longer defined)
    python -m deploy.grafana.generate --check   # exit 1 if a file is missing, stale or different

Grafana's provisioning (deploy/grafana/provisioning/) loads the folder as it is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from deploy.grafana.definitions import DASHBOARDS

OUTPUT = Path(__file__).resolve().parent / "dashboards"


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard (keys sorted, two-space indent, a final newline)."""
    encoder = JSONEncoder(sort_keys=True, indent=2)
    files = {}
    for build in DASHBOARDS:
        board = build()
        files[f"{board.uid}.json"] = encoder.encode(board) + "\n"
    return files


def differences(folder: Path = OUTPUT) -> list[str]:
    """What differs between ``folder`` and :func:`rendered`: one line per missing, stale or changed file."""
    wanted = rendered()
    present = {path.name for path in folder.glob("*.json")}
    found = [f"missing: {name}" for name in sorted(wanted.keys() - present)]
    found += [f"not generated (remove it): {name}" for name in sorted(present - wanted.keys())]
    found += [f"differs from its definition: {name}" for name in sorted(wanted.keys() & present)
              if (folder / name).read_text(encoding="utf-8") != wanted[name]]
    return found


def write(folder: Path = OUTPUT) -> list[Path]:
    """Write every dashboard into ``folder`` and remove the JSON files no definition makes; returns those written."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = rendered()
    for stale in folder.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, text in wanted.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.grafana.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the files with the definitions, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = differences()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("run `python -m deploy.grafana.generate` and commit the result", file=sys.stderr)
        return 1 if found else 0
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
