"""Files generated from code and committed (the OpenAPI documents, the Grafana dashboards): written by a
generator, never edited by hand, and checked against what the generator makes now.

A :class:`GeneratedFiles` knows its folder, the file pattern it owns there, how to make every file's text, and
the command that regenerates them; :meth:`~GeneratedFiles.main` is that command's ``[--check]`` entry point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GeneratedFiles:
    """The files ``make()`` returns (name -> text), kept in ``folder`` (every ``pattern`` file there is ours)."""

    folder: Path
    make: Callable[[], dict[str, str]]
    command: str
    """how to regenerate them, e.g. ``python -m govbus.commands.openapi``"""
    source: str
    """what they are made from, for a changed file: ``the code``, ``its definition``"""
    pattern: str = "*.json"

    def differences(self, folder: Path | None = None) -> list[str]:
        """One line per file missing, not generated, or different from what :attr:`make` makes now."""
        folder = folder or self.folder
        wanted = self.make()
        present = {path.name for path in folder.glob(self.pattern)}
        found = [f"missing: {name}" for name in sorted(wanted.keys() - present)]
        found += [f"not generated (remove it): {name}" for name in sorted(present - wanted.keys())]
        found += [f"differs from {self.source}: {name}" for name in sorted(wanted.keys() & present)
                  if (folder / name).read_text(encoding="utf-8") != wanted[name]]
        return found

    def write(self, folder: Path | None = None) -> list[Path]:
        """Write every file into ``folder`` and remove the ``pattern`` files nothing makes; returns those written."""
        folder = folder or self.folder
        folder.mkdir(parents=True, exist_ok=True)
        wanted = self.make()
        for stale in folder.glob(self.pattern):
            if stale.name not in wanted:
                stale.unlink()
        written = []
        for name, text in wanted.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written

    def main(self, argv: Sequence[str] | None, description: str) -> int:
        """``COMMAND`` writes the files; ``COMMAND --check`` writes nothing and exits 1 when any differs."""
        parser = argparse.ArgumentParser(prog=self.command, description=description)
        parser.add_argument("--check", action="store_true", help=f"compare the files with {self.source}, write nothing")
        args = parser.parse_args(argv)
        if args.check:
            found = self.differences()
            for line in found:
                print(line, file=sys.stderr)
            if found:
                print(f"run `{self.command}` and commit the result", file=sys.stderr)
            return 1 if found else 0
        for path in self.write():
            print(path)
        return 0
