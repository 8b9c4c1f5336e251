"""The layer contract (pyproject.toml, [tool.importlinter], run by lint-imports in .ci/run) names every module of
the govbus package: a new module must be placed in a layer, so the contract keeps covering the whole core."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_govbus_module_and_package_is_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = config["tool"]["importlinter"]["contracts"]
    named = {module.strip() for layer in contract["layers"] for module in layer.split(":")}
    package = ROOT / "govbus"
    modules = ({f"govbus.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"}
               | {f"govbus.{path.name}" for path in package.iterdir() if (path / "__init__.py").is_file()})
    assert modules - named == set(), f"place these in a layer of [tool.importlinter]: {sorted(modules - named)}"
    assert {"connectors", "streams", "consumers", "schemas"} <= named
