"""The layer contract (pyproject.toml, [tool.importlinter], run by lint-imports in .ci/run) names every module of
the govbus package: a new module must be placed in a layer, so the contract keeps covering the whole core."""

from __future__ import annotations

import ast
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


# imports inside functions are allowed only here: the CLI (start-up time, see its docstring) and optional
# dependencies that exist only where they are used (Docker, an HTTP transport)
LAZY_IMPORTS_ALLOWED = {"govbus/cli.py": None, "testsupport/broker.py": {"testcontainers.kafka", "docker"},
                        "schemas/catalogue/sync.py": {"httpx2"}}


def test_imports_are_at_the_top_of_modules() -> None:
    found = []
    for root in ("govbus", "schemas", "streams", "connectors", "consumers", "testsupport"):
        for path in sorted((ROOT / root).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            allowed = LAZY_IMPORTS_ALLOWED.get(relative, set())
            if allowed is None:
                continue
            for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                        if module not in allowed:
                            found.append(f"{relative}:{node.lineno} imports {module} inside {function.name}()")
    assert not found, "move these imports to the top of their modules:\n" + "\n".join(found)
