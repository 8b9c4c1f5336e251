"""docker-compose.yml names only commands that exist: `govbus ...` in the CLI tree, `python -m ...` as modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import click
import yaml

from govbus.cli import main
from govbus.commands.run import RUNNABLE
from govbus.sharing.model import load_grant, load_subscription

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _resolve(words: list[str]) -> click.Command | None:
    """The command ``govbus <words...>`` names (options and the command's own arguments excluded), or None."""
    command: click.Command | None = main
    for word in words:
        if word.startswith("-") or not isinstance(command, click.Group):
            break
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


def test_compose_runs_every_component_with_postgresql() -> None:
    services = _services()
    started = {s["command"][2] for s in services.values()
               if isinstance(s.get("command"), list) and s["command"][:2] == ["govbus", "run"]}
    assert started == set(RUNNABLE), f"components compose does not run: {sorted(set(RUNNABLE) - started)}"
    assert "postgres" in services and str(services["postgres"]["image"]).startswith("postgres:")


def test_the_files_compose_hands_to_commands_exist_and_are_valid() -> None:
    loaders = {"grants": load_grant, "subscriptions": load_subscription}
    checked = 0
    for service in _services().values():
        command = service.get("command")
        if isinstance(command, list) and command[:1] == ["govbus"] and command[1] in loaders and command[2] == "add":
            path = COMPOSE.parent / command[3]
            assert path.is_file(), f"{command}: {path} does not exist (the image copies examples/)"
            loaders[command[1]](path)
            checked += 1
    assert checked >= 3
