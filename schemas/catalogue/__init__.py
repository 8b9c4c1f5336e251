"""The catalogue: one Avro schema per shared data item (``<item>.avsc``), loaded by name."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from govbus.exceptions import ConfigurationError


def record_schema(item: str) -> dict[str, Any]:
    """The Avro record schema of catalogue item ``item`` (e.g. ``enterprise_registration``)."""
    resource = resources.files(__name__).joinpath(f"{item}.avsc")
    if not resource.is_file():
        known = sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".avsc"))
        raise ConfigurationError(f"no data item {item!r} in the catalogue; known items: {', '.join(known)}")
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema
