"""The document as text: YAML or JSON, chosen by the file's suffix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from govbus.exceptions import ConfigurationError

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases (a schema used twice is written twice, as readers expect), text of
    several lines as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    """Text of several lines as a literal block (``|``), as it reads in the source."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _text)


def as_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def as_text(document: dict[str, Any], path: Path | None) -> str:
    """YAML for ``.yaml``/``.yml`` or no file (stdout), JSON for ``.json``; :class:`ConfigurationError` otherwise."""
    suffix = path.suffix.lower() if path is not None else ".yaml"
    if suffix in YAML_SUFFIXES:
        return as_yaml(document)
    if suffix in JSON_SUFFIXES:
        return as_json(document)
    raise ConfigurationError(f"{path}: write the AsyncAPI document to a .yaml, .yml or .json file")
