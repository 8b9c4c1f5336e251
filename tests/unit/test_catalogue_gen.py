"""The generated catalogue of the scale benchmark (bench/scenario/catalogue_gen.py) and the loader's shared models:
a catalogue of any size the loader accepts, made of the real items and copies of them, with 40 systems."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench.scenario.catalogue_gen import (
    SYSTEMS,
    generate_catalogue,
    item_systems,
    read_real_items,
    shape_of,
    systems_per_department,
)
from govbus.exceptions import CatalogueError
from schemas.catalogue import Catalogue, load_catalogue
from schemas.catalogue.loader import CATALOGUE_DIR_VARIABLE, packaged_items, read_catalogue

REAL = read_catalogue(packaged_items())  # the packaged one, whatever GOVBUS_CATALOGUE_DIR says


def generated(tmp_path: Path, count: int, seed: int = 2017) -> tuple[Path, Catalogue]:
    directory = generate_catalogue(count, tmp_path / "gen", seed)
    return directory, load_catalogue(directory)


def test_a_catalogue_of_120_items_loads_with_the_real_items_first_and_copies_of_them(tmp_path: Path) -> None:
    directory, catalogue = generated(tmp_path, 120)
    assert len(catalogue) == 120 and len(list(directory.glob("*.json"))) == 120
    assert len({item.code for item in catalogue}) == 120
    assert set(REAL.names()) <= set(catalogue.names())
    copies = [item for item in catalogue if item.name not in REAL]
    assert len(copies) == 120 - len(REAL)
    for item in copies:
        shape = REAL.get(shape_of(item))
        assert item.name.startswith(shape.name + "_") and item.model is shape.model
        assert item.record_schema["fields"] == shape.record_schema["fields"]
        assert (item.personal_fields, item.not_personal_fields) == (shape.personal_fields, shape.not_personal_fields)
        assert (item.department, item.sharing_class, item.key_fields) == (shape.department, shape.sharing_class,
                                                                          shape.key_fields)
        assert item.code.split("/")[0] == shape.code.split("/")[0]
    turns = Counter(shape_of(item) for item in copies)
    assert set(turns) == set(REAL.names()) and max(turns.values()) - min(turns.values()) <= 1


def test_the_real_count_is_the_real_catalogue_file_for_file(tmp_path: Path) -> None:
    directory, catalogue = generated(tmp_path, len(REAL))
    assert catalogue.names() == REAL.names()
    for metadata, schema in read_real_items():
        name = metadata["item"]
        assert json.loads((directory / f"{name}.json").read_text(encoding="utf-8")) == metadata
        assert json.loads((directory / f"{name}.avsc").read_text(encoding="utf-8")) == schema


def test_forty_systems_each_publishing_only_its_departments_items(tmp_path: Path) -> None:
    directory, catalogue = generated(tmp_path, 120)
    systems = item_systems(directory)  # the register loads against the catalogue: owners checked there
    assert set(systems) == set(catalogue.names())
    assert len(set(systems.values())) == SYSTEMS
    departments = {item.department for item in catalogue}
    owners = {json.loads(f.read_text(encoding="utf-8"))["department"] for f in (directory.parent / "systems").iterdir()}
    assert owners == departments, "every department declares at least one system"


def test_fewer_items_than_systems_gives_one_system_per_item(tmp_path: Path) -> None:
    directory, catalogue = generated(tmp_path, 5)
    assert len(catalogue) == 5 and catalogue.names() == REAL.names()[:5]
    assert len(set(item_systems(directory).values())) == 5


def test_systems_go_to_the_departments_with_the_most_items_per_system() -> None:
    assert systems_per_department({"a": 10, "b": 1, "c": 4}, 6) == {"a": 3, "b": 1, "c": 2}
    assert systems_per_department({"a": 2, "b": 1}, 5) == {"a": 2, "b": 1}, "never more systems than items"
    with pytest.raises(ValueError):
        systems_per_department({"a": 1, "b": 1}, 1)


def test_the_seed_decides_which_shapes_come_first(tmp_path: Path) -> None:
    first = generate_catalogue(40, tmp_path / "a", seed=1)
    again = generate_catalogue(40, tmp_path / "b", seed=1)
    other = generate_catalogue(40, tmp_path / "c", seed=2)
    names = {path: sorted(p.name for p in path.iterdir()) for path in (first, again, other)}
    assert names[first] == names[again] and names[first] != names[other]


def test_govbus_catalogue_dir_chooses_the_catalogue_every_component_loads(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    directory, catalogue = generated(tmp_path, 30)
    monkeypatch.setenv(CATALOGUE_DIR_VARIABLE, str(directory))
    assert load_catalogue() is catalogue
    monkeypatch.delenv(CATALOGUE_DIR_VARIABLE)
    assert len(load_catalogue()) == len(REAL)


def _edit_copy(directory: Path, edit: str) -> Path:
    """The first copy of enterprise_registration in ``directory``, edited."""
    path = next(p for p in sorted(directory.glob("enterprise_registration_*.json")))
    metadata = json.loads(path.read_text(encoding="utf-8"))
    schema_path = path.with_suffix(".avsc")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    if edit == "unknown model":
        metadata["model"] = "business_licence"
    else:  # a field dropped from the copy's schema (and its classification): the shared model still has it
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "business_scope"]
        metadata["not_personal_fields"].remove("business_scope")
    path.write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
    schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_copy_naming_an_item_without_a_model_is_refused(tmp_path: Path) -> None:
    directory = generate_catalogue(40, tmp_path / "gen", seed=3)
    path = _edit_copy(directory, "unknown model")
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(directory)
    assert f"{path}: model names 'business_licence', which has no pydantic model" in str(refused.value)


def test_a_copy_whose_schema_drifted_from_the_shared_model_is_refused(tmp_path: Path) -> None:
    directory = generate_catalogue(40, tmp_path / "gen", seed=3)
    path = _edit_copy(directory, "drift")
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(directory)
    message = str(refused.value)
    assert f"{path}: the schema does not agree with the model of 'enterprise_registration'" in message
    assert "business_scope" in message
