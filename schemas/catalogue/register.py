"""The register of source systems: which department's systems publish which catalogue items (``systems/<id>.json``).

The national survey of government information systems asks each department to declare its systems, so that
systems nobody uses any more ("zombie" systems) can be found and retired. A source system is the system a
change event comes from: the envelope's ``source_system`` (:mod:`govbus.envelope`) is its id. Example::

    {
      "id": "zhejiang-aic-v2",
      "name": {"zh": "浙江省市场主体登记系统（v2 接口）", "en": "Zhejiang market-entity registration system (v2)"},
      "department": "market-regulation",
      "items": ["enterprise_registration"],
      "dialects": ["zhejiang-aic-v2"],
      "network": "e-government-extranet",
      "status": "active"
    }

:func:`load_register` reads every file and refuses, naming the file and what to change:

- a file that is not valid JSON, or does not match :class:`SourceSystem` (unknown keys included);
- an ``id`` other than the file's stem, or one that is not a lower-case slug;
- an item the catalogue does not have, or one another department owns (a system publishes only its own
  department's items: the broker would refuse it the topic anyway);
- the same item twice in a system, or a system without items.

``dialects`` names the local dialects (:mod:`streams.dialects`) the system sends its items in, if it does not
send canonical records to the department topic; the catalogue cannot see the stream processors, so a unit test
checks that each named dialect exists for one of the system's items.

Declared ``status``: ``active`` (publishes as its items' update cycles say), ``retiring`` (still publishes; to be
switched off), ``retired`` (must no longer publish). Operators compare the register with what the bus saw
(``govbus systems list``, :mod:`govbus.operations.systems`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from govbus.exceptions import CatalogueError
from schemas.catalogue.loader import load_catalogue
from schemas.catalogue.metadata import Department, Title
from schemas.catalogue.model import Catalogue

SYSTEMS_DIRECTORY = "systems"
SYSTEM_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Network(StrEnum):
    """Where the system runs, so an operator knows which network a silent system is to be reached on."""

    EXTRANET = "e-government-extranet"
    """电子政务外网: the network that connects departments' systems to the sharing platform."""
    INTERNET = "internet"
    """互联网: a system serving the public that publishes over the internet (through the ingest gateway)."""
    INTERNAL = "internal"
    """部门内部网络: a department's own network; it reaches the bus through a connector of the department."""


class DeclaredStatus(StrEnum):
    """What the department declares about the system's life."""

    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class SourceSystem(BaseModel):
    """One source system of the register, as written in ``systems/<id>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SYSTEM_ID_PATTERN, max_length=64,
                    description="the envelope's source_system; the file stem")
    name: Title
    department: Department = Field(description="the owning department: the only one whose items it publishes")
    items: tuple[str, ...] = Field(min_length=1, description="catalogue items it publishes")
    dialects: tuple[str, ...] = Field(default=(), description="local dialects it sends its items in, if any")
    network: Network
    status: DeclaredStatus
    note: str | None = Field(default=None, description="anything an operator should know (a replacement system)")


class SystemRegister:
    """Every declared source system, by id."""

    def __init__(self, systems: list[SourceSystem]) -> None:
        self._systems = {system.id: system for system in sorted(systems, key=lambda s: (s.department, s.id))}

    def get(self, system_id: str) -> SourceSystem | None:
        return self._systems.get(system_id)

    def systems(self) -> list[SourceSystem]:
        """Every system, by department then id."""
        return list(self._systems.values())

    def __iter__(self) -> Iterator[SourceSystem]:
        return iter(self._systems.values())

    def __len__(self) -> int:
        return len(self._systems)

    def __contains__(self, system_id: object) -> bool:
        return system_id in self._systems


def packaged_systems() -> Traversable:
    """The ``systems`` directory shipped inside the ``schemas.catalogue`` package."""
    return resources.files("schemas.catalogue").joinpath(SYSTEMS_DIRECTORY)


def load_register(directory: Path | str | None = None, catalogue: Catalogue | None = None) -> SystemRegister:
    """The register in ``directory`` (default: the packaged one) checked against ``catalogue`` (default: the
    packaged catalogue); the packaged register against the packaged catalogue is cached."""
    if directory is None and catalogue is None:
        return _packaged_register()
    root: Traversable = packaged_systems() if directory is None else Path(directory)
    return read_register(root, catalogue or load_catalogue())


@functools.cache
def _packaged_register() -> SystemRegister:
    return read_register(packaged_systems(), load_catalogue())


def read_register(root: Traversable, catalogue: Catalogue) -> SystemRegister:
    """Read and check every ``<id>.json`` in ``root`` (not cached)."""
    if not root.is_dir():
        raise CatalogueError(f"{root}: not a register of source systems (expected a directory of <id>.json files)")
    files = sorted((entry for entry in root.iterdir() if entry.is_file() and entry.name.endswith(".json")),
                   key=lambda entry: entry.name)
    return SystemRegister([_checked(_read_system(file), file, catalogue) for file in files])


def _read_system(file: Traversable) -> SourceSystem:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{file}: not valid JSON: {error}") from None
    try:
        return SourceSystem.model_validate(raw)
    except pydantic.ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'system'}: {e['msg']}"
                             for e in error.errors(include_url=False))
        raise CatalogueError(f"{file}: invalid source system: {problems}") from None


def _checked(system: SourceSystem, file: Traversable, catalogue: Catalogue) -> SourceSystem:
    stem = file.name[: -len(".json")]
    if system.id != stem:
        raise CatalogueError(f"{file}: id is {system.id!r} but the file is named {stem}.json; name the file after "
                             "the system")
    repeated = sorted({item for item in system.items if system.items.count(item) > 1})
    if repeated:
        raise CatalogueError(f"{file}: items name {', '.join(repeated)} more than once")
    for name in system.items:
        if name not in catalogue:
            raise CatalogueError(f"{file}: item {name!r} is not in the catalogue; known items: "
                                 f"{', '.join(catalogue.names())}")
        owner = catalogue.get(name).department
        if owner != system.department.value:
            raise CatalogueError(f"{file}: {system.id} belongs to {system.department.value} but publishes {name}, "
                                 f"which {owner} owns: a department's system publishes only its department's items "
                                 f"(declare the system under {owner}, or remove {name})")
    return system
