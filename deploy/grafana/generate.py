"""Write the govbus dashboards to deploy/grafana/dashboards/<uid>.json from their definitions (never edit the JSON:
change :mod:`deploy.grafana.definitions` and run this again; a unit test fails when the files differ from what this
writes).

    pip install -e '.[dashboards]'
    python -m deploy.grafana.generate           # write the files (and remove those of dashboards no longer defined)
    python -m deploy.grafana.generate --check   # exit 1 if a file is missing, stale or different

Grafana's provisioning (deploy/grafana/provisioning/) loads the folder as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from deploy.grafana.definitions import DASHBOARDS
from govbus.generated_files import GeneratedFiles

OUTPUT = Path(__file__).resolve().parent / "dashboards"


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard (keys sorted, two-space indent, a final newline)."""
    encoder = JSONEncoder(sort_keys=True, indent=2)
    files = {}
    for build in DASHBOARDS:
        board = build()
        files[f"{board.uid}.json"] = encoder.encode(board) + "\n"
    return files


GENERATED = GeneratedFiles(OUTPUT, rendered, "python -m deploy.grafana.generate", "its definition")


def differences(folder: Path = OUTPUT) -> list[str]:
    """What differs between ``folder`` and :func:`rendered`: one line per missing, stale or changed file."""
    return GENERATED.differences(folder)


def write(folder: Path = OUTPUT) -> list[Path]:
    """Write every dashboard into ``folder`` and remove the JSON files no definition makes; returns those written."""
    return GENERATED.write(folder)


def main(argv: Sequence[str] | None = None) -> int:
    return GENERATED.main(argv, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
