"""Breaking a copy of the packaged catalogue: edit one file, then see what the loader says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govbus.exceptions import CatalogueError
from schemas.catalogue import load_catalogue
from schemas.catalogue.loader import packaged_items

Edit = Callable[[dict[str, Any]], None]


def copy_catalogue(tmp_path: Path) -> Path:
    """A copy of the packaged catalogue's schema and metadata files, to break."""
    target = tmp_path / "items"
    target.mkdir()
    for entry in packaged_items().iterdir():
        if entry.name.endswith((".avsc", ".json")):
            (target / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def edit(path: Path, change: Edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def refused(directory: Path) -> str:
    """The loader's refusal of the catalogue in ``directory``."""
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory)
    return str(caught.value)
