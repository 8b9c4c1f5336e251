"""The register of source systems: the packaged one is consistent with the catalogue, the dialects and the systems
the demo publishes from; a broken copy is refused with a message naming the file and what to change."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govbus.exceptions import CatalogueError
from schemas.catalogue import load_catalogue
from schemas.catalogue.register import DeclaredStatus, load_register, packaged_systems
from streams.dialects import ITEMS, dialects_for, local_dialects

ROOT = Path(__file__).resolve().parents[3]


def test_the_packaged_register_loads_and_names_only_its_departments_items() -> None:
    register = load_register()
    catalogue = load_catalogue()
    assert len(register) >= 15
    for system in register:
        for item in system.items:
            assert catalogue.get(item).department == system.department.value, system.id
    statuses = {system.status for system in register}
    assert statuses == set(DeclaredStatus), "the seed shows every declared status"


def test_every_dialect_a_system_names_exists_for_one_of_its_items() -> None:
    for system in load_register():
        known = {dialect.name for item in system.items for dialect in dialects_for(item)}
        assert set(system.dialects) <= known, (system.id, system.dialects, known)


def test_every_local_dialect_has_a_system_that_sends_it() -> None:
    declared = {dialect for system in load_register() for dialect in system.dialects}
    local = {dialect.name for item in ITEMS for dialect in local_dialects(item)}
    assert local <= declared, sorted(local - declared)


def test_the_systems_the_demo_publishes_from_are_declared() -> None:
    """Every source system the demo names (Publisher(...), the gateway's X-Source-System header) is in the
    register under the department that uses it."""
    demo = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "govbus" / "demo").glob("*.py"))
    named = set(re.findall(r'Publisher\("([a-z-]+)", "([a-z0-9-]+)"', demo))
    named |= {("taxation", system) for system in re.findall(r'"X-Source-System": "([a-z0-9-]+)"', demo)}
    assert len(named) >= 4
    register = load_register()
    for department, system_id in named:
        system = register.get(system_id)
        assert system is not None and system.department.value == department, (department, system_id)


def copy_register(tmp_path: Path) -> Path:
    target = tmp_path / "systems"
    target.mkdir()
    for entry in packaged_systems().iterdir():
        if entry.name.endswith(".json"):
            (target / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def refused(directory: Path) -> str:
    with pytest.raises(CatalogueError) as caught:
        load_register(directory, load_catalogue())
    return str(caught.value)


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.update(items=["no_such_item"]), "item 'no_such_item' is not in the catalogue"),
    (lambda d: d.update(items=["credit_record"]),
     "registration-db belongs to market-regulation but publishes credit_record, which credit owns"),
    (lambda d: d.update(items=["enterprise_registration", "enterprise_registration"]),
     "items name enterprise_registration more than once"),
    (lambda d: d.update(items=[]), "items: Tuple should have at least 1 item"),
    (lambda d: d.update(id="registration-database"), "id is 'registration-database' but the file is named "
                                                     "registration-db.json"),
    (lambda d: d.update(status="dormant"), "status: Input should be 'active', 'retiring' or 'retired'"),
    (lambda d: d.update(network="lan"), "network: Input should be"),
    (lambda d: d.update(owner="someone"), "owner: Extra inputs are not permitted"),
    (lambda d: d.update(department="forestry"), "department: Input should be"),
    (lambda d: d.pop("name"), "name: Field required"),
])
def test_an_inconsistent_system_is_refused_naming_the_file(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                                           expected: str) -> None:
    directory = copy_register(tmp_path)
    _edit(directory / "registration-db.json", change)
    message = refused(directory)
    assert "registration-db.json" in message and expected in message, message


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    directory = copy_register(tmp_path)
    (directory / "registration-db.json").write_text("{not json", encoding="utf-8")
    assert "registration-db.json: not valid JSON" in refused(directory)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "not a register of source systems" in refused(tmp_path / "nowhere")


def test_the_catalogue_readme_lists_every_system_as_declared() -> None:
    text = (ROOT / "schemas" / "catalogue" / "README.md").read_text(encoding="utf-8")
    for system in load_register():
        row = (f"| `{system.id}` | {system.name.zh} | {system.department.value} | {', '.join(system.items)} | "
               f"{', '.join(system.dialects) or '-'} | {system.network.value} | {system.status.value} |")
        assert row in text, f"schemas/catalogue/README.md: add or correct the row\n{row}"
