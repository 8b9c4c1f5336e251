"""schemas/catalogue/README.md runs and tells the truth about the items."""

from __future__ import annotations

import re
from pathlib import Path

import schemas.catalogue
from schemas.catalogue import Catalogue

README = (Path(schemas.catalogue.__file__).parent / "README.md").read_text(encoding="utf-8")


def test_the_python_snippet_runs() -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    exec(compile(snippet, "schemas/catalogue/README.md", "exec"), {})


def test_the_items_table_matches_the_metadata(catalogue: Catalogue) -> None:
    section = README.split("## The items", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    table = {cells[0].strip("| `"): (cells[2], cells[3], cells[4] == "yes") for cells in rows}
    assert set(table) == set(catalogue.names())
    for item in catalogue:
        assert table[item.name] == (item.department, item.sharing_class.value, item.open_to_public), item.name
