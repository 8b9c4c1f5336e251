"""Test modules are imported by their base name (pytest's default import mode, with tests/ and its folders on the
path), so two test files with one name make the second fail to collect ("import file mismatch"), on a clean
clone, not always on a working copy with its caches. One name, one file."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path


def test_every_test_module_and_support_module_has_a_name_of_its_own(repo_root: Path) -> None:
    places: defaultdict[str, list[str]] = defaultdict(list)
    for path in (repo_root / "tests").rglob("*.py"):
        if path.name not in ("__init__.py", "conftest.py"):
            places[path.stem].append(str(path.relative_to(repo_root)))
    shared = {name: paths for name, paths in places.items() if len(paths) > 1}
    assert not shared, f"rename one of each: {shared}"
