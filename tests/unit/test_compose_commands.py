"""docker-compose.yml names only commands that exist: `govbus ...` in the CLI tree, `python -m ...` as modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import click
import yaml

from govbus.cli import main

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _resolve(words: list[str]) -> click.Command | None:
    """The command ``govbus <words...>`` names (options excluded), or None."""
    command: click.Command | None = main
    for word in words:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group):
            return None
        command = command.get_command(click.Context(command), word)
        if command is None:
            return None
    return command


def test_every_govbus_command_of_the_compose_file_exists() -> None:
    commands = {name: s["command"] for name, s in _services().items() if isinstance(s.get("command"), list)}
    govbus = {name: command for name, command in commands.items() if command[0] == "govbus"}
    assert {"topics", "normaliser", "profiles", "push"} <= govbus.keys()
    for name, command in govbus.items():
        resolved = _resolve(command[1:])
        assert resolved is not None and not isinstance(resolved, click.Group), f"{name}: {command} is no command"
    for name, command in commands.items():
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"


def test_services_depend_only_on_services_of_the_file() -> None:
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict | list)
        assert set(depends) <= services.keys(), f"{name} depends on a service the file does not define"
