"""The ``govbus`` command tree, walked once for the tests that check every command."""

from __future__ import annotations

from collections.abc import Iterator

import click

from govbus.cli import main


def every_command() -> Iterator[tuple[str, click.Command]]:
    """(``"group sub"`` path, command) of every command of ``govbus``, groups excluded."""

    def walk(command: click.Command, path: list[str]) -> Iterator[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(main, [])
