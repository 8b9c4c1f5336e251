"""The README's map cannot drift: the layout table names every top-level folder and package, every command
appears in a README, and the example files the help texts point to exist and are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from govbus.cli import main
from govbus.sharing.model import load_grant, load_subscription
from testsupport.cli_tree import every_command

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOTS = ("govbus", "schemas", "streams", "consumers", "connectors")
NOT_MAPPED = {"examples"}  # the walk-through's files: named where they are used


def _layout_rows() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Layout\n"):]
    section = section[:section.index("\n## ", 1)]
    return set(re.findall(r"^\| `([^`]+/)` \|", section, flags=re.MULTILINE))


def _folders() -> set[str]:
    top = {f"{path.name}/" for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))
           and not path.name.endswith(".egg-info") and path.name not in NOT_MAPPED}
    packages = {f"{root}/{path.name}/" for root in PACKAGE_ROOTS for path in (ROOT / root).iterdir()
                if (path / "__init__.py").is_file()}
    return top | packages


def test_the_layout_table_names_every_top_level_folder_and_package() -> None:
    rows, folders = _layout_rows(), _folders()
    assert folders - rows == set(), f"add these to the README's Layout table: {sorted(folders - rows)}"
    assert rows - folders == set(), f"the README's Layout table names missing folders: {sorted(rows - folders)}"


def test_every_command_appears_in_a_readme() -> None:
    docs = "\n".join(path.read_text(encoding="utf-8") for path in ROOT.rglob("*.md")
                     if not {".venv", "node_modules"} & set(path.parts))
    missing = [path for path, _ in every_command() if f"govbus {path}" not in docs]
    assert not missing, f"document these commands in the README or a component README: {missing}"


@pytest.mark.parametrize(("command", "load"), [("grants", load_grant), ("subscriptions", load_subscription)])
def test_the_add_help_points_to_a_valid_example_file(command: str, load: object) -> None:
    shown = CliRunner().invoke(main, [command, "add", "--help"])
    assert shown.exit_code == 0, shown.output
    [example] = re.findall(r"examples/[\w.-]+\.yaml", shown.output)
    assert (ROOT / example).is_file(), f"{command} add --help points to {example}, which does not exist"
    assert callable(load)
    load(ROOT / example)  # raises when the example is not a valid file of its kind
