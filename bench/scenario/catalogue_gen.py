"""A catalogue of any size made from the real items, for the scale benchmark (issue #14, "the seeds' scale").

The policy texts speak of about 500 shared data items from 40 vertical systems. :func:`generate_catalogue`
writes a catalogue of ``count`` items that the loader accepts, plus a register of the systems publishing them:

1. ``<out_dir>/items/`` (the directory ``GOVBUS_CATALOGUE_DIR`` names): the real items first, verbatim (all of
   them when ``count`` is at least their number, so the real count means the real catalogue; else the first
   ``count`` by name), then copies until there are ``count``. A copy of real item ``S`` is called
   ``S_<n>`` (``enterprise_registration_023``, ``n`` the item's position, from the real count + 1): S's schema
   and metadata with the name, the record name (``EnterpriseRegistration023``), the catalogue code (S's
   classification, sequence number 100000 + n) and the titles changed, and ``"model": "S"``, so it shares S's
   pydantic model (the loader checks the copy still agrees with it). The shapes take turns, in an order the
   seed shuffles each round, so every shape is copied about as often as any other.
2. ``<out_dir>/systems/``: the 40 vertical systems (``vertical-01`` ... ``vertical-40``; one per item when there
   are fewer than 40 items), each declared by one department and publishing only that department's items, as
   the register requires (:mod:`schemas.catalogue.register`). Each department gets at least one system and the
   rest in proportion to its items; its items take turns over its systems.

Owners stay the catalogue's departments: :class:`~schemas.catalogue.metadata.Department` is a closed list (a
principal, a grants topic and prefixed ACLs each), and a copy of a tax certificate is provided by the tax
department like the original, so its personal fields, sharing class and grants mean the same. The "40 vertical
systems" are the source systems an event names in ``source_system``, which is what the register is for.

    catalogue_dir = generate_catalogue(500, Path("/tmp/c500"), seed=2017)   # /tmp/c500/items
    load_catalogue(catalogue_dir)                                           # 500 items, checked
    item_systems(catalogue_dir)["enterprise_registration_023"]              # 'vertical-21'
"""

from __future__ import annotations

import copy
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from schemas.catalogue.loader import load_catalogue, packaged_items, pascal_case
from schemas.catalogue.metadata import Department
from schemas.catalogue.model import DataItem
from schemas.catalogue.register import load_register

SYSTEMS = 40
"""The vertical systems of the policy texts."""
ITEMS_DIR, SYSTEMS_DIR = "items", "systems"
CODE_SEQUENCE_BASE = 100_000
"""Copies' catalogue codes are ``<shape's classification>/<100000 + n>``: the real items use small sequence numbers."""


def generate_catalogue(count: int, out_dir: Path, seed: int) -> Path:
    """Write a catalogue of ``count`` items and its register of systems under ``out_dir`` (replacing what was
    there); the catalogue directory, ``out_dir/items``."""
    if count < 1:
        raise ValueError("a catalogue has at least one item")
    real = sorted(read_real_items(), key=lambda pair: pair[0]["item"])
    items_dir, systems_dir = out_dir / ITEMS_DIR, out_dir / SYSTEMS_DIR
    for directory in (items_dir, systems_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    chosen = real[:count] + [_copy(*shape, n) for n, shape in zip(range(len(real) + 1, count + 1),
                                                                     _shape_turns(real, count - len(real), seed),
                                                                     strict=True)]
    for metadata, schema in chosen:
        _write_json(items_dir / f"{metadata['item']}.json", metadata)
        _write_json(items_dir / f"{metadata['item']}.avsc", schema)
    for system in _systems([metadata for metadata, _ in chosen], seed):
        _write_json(systems_dir / f"{system['id']}.json", system)
    return items_dir


def read_real_items() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(metadata, schema) of every item of the packaged catalogue, as written in its files."""
    root = packaged_items()
    pairs = []
    for entry in root.iterdir():
        if entry.name.endswith(".json"):
            schema_file = root.joinpath(entry.name[: -len(".json")] + ".avsc")
            pairs.append((json.loads(entry.read_text(encoding="utf-8")),
                          json.loads(schema_file.read_text(encoding="utf-8"))))
    return pairs


def _shape_turns(real: list[tuple[dict[str, Any], dict[str, Any]]], copies: int, seed: int,
                 ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``copies`` shapes: every real item once per round, each round in an order the seed shuffles."""
    rng = random.Random(seed)
    turns: list[tuple[dict[str, Any], dict[str, Any]]] = []
    while len(turns) < copies:
        round_ = list(real)
        rng.shuffle(round_)
        turns.extend(round_)
    return turns[:max(copies, 0)]


def _copy(metadata: dict[str, Any], schema: dict[str, Any], n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copy ``n`` of a real item: its own name, record name, code and titles; the shape's model."""
    shape = metadata["item"]
    name = f"{shape}_{n:03d}"
    classification = metadata["code"].split("/")[0]
    title = metadata["title"]
    new_metadata = {**copy.deepcopy(metadata), "item": name, "code": f"{classification}/{CODE_SEQUENCE_BASE + n:06d}",
                    "title": {"zh": f"{title['zh']}（副本 {n:03d}）", "en": f"{title['en']} (copy {n:03d})"},
                    "description": f"{metadata['description']} (Generated copy {n} of {shape} for the scale "
                                   "benchmark.)",
                    "model": shape}
    new_schema = {**copy.deepcopy(schema), "name": pascal_case(name)}
    return new_metadata, new_schema


def _systems(items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The register's systems: min(40, items), numbered in department order, each with its department's items."""
    by_department: dict[str, list[str]] = defaultdict(list)
    for metadata in items:
        by_department[metadata["department"]].append(metadata["item"])
    shares = systems_per_department({d: len(names) for d, names in by_department.items()}, min(SYSTEMS, len(items)))
    rng = random.Random(seed)
    systems: list[dict[str, Any]] = []
    for department in sorted(by_department):
        names = sorted(by_department[department])
        rng.shuffle(names)
        first = len(systems) + 1
        for k in range(shares[department]):
            systems.append(_system(first + k, department, sorted(names[k::shares[department]])))
    return systems


def systems_per_department(items: dict[str, int], total: int) -> dict[str, int]:
    """``total`` systems over the departments (department -> its item count): one each, then one at a time to the
    department with the most items per system (never more systems than items)."""
    if total < len(items):
        raise ValueError(f"{total} systems cannot give each of {len(items)} departments one")
    shares = dict.fromkeys(items, 1)
    for _ in range(total - len(items)):
        open_ = [d for d in sorted(items) if shares[d] < items[d]]
        if not open_:
            break
        chosen = max(open_, key=lambda d: items[d] / shares[d])
        shares[chosen] += 1
    return shares


def _system(number: int, department: str, items: list[str]) -> dict[str, Any]:
    owner = Department(department)
    return {"id": f"vertical-{number:02d}",
            "name": {"zh": f"{owner.title_zh}垂直业务系统 {number:02d}",
                     "en": f"Vertical system {number:02d} of {department}"},
            "department": department, "items": items, "network": "e-government-extranet", "status": "active",
            "note": "generated for the scale benchmark (bench/scenario/catalogue_gen.py)"}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def item_systems(catalogue_dir: Path) -> dict[str, str]:
    """Item -> the id of the system publishing it, from the register beside ``catalogue_dir`` (checked against
    that catalogue)."""
    register = load_register(catalogue_dir.parent / SYSTEMS_DIR, load_catalogue(catalogue_dir))
    return {item: system.id for system in register for item in system.items}


def shape_of(item: DataItem) -> str:
    """The real item ``item`` was copied from (itself for a real item): the one whose samples fit it."""
    return item.metadata.model or item.name
