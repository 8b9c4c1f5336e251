"""The hostile-input tests send at least 10,000 generated inputs in all (issue #11 point 5): each takes its
example count from testsupport.hostile.BUDGETS, which this checks adds up, and that each budget is one test's."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.hostile import BUDGETS, TOTAL_AT_LEAST, budget


def test_the_budgets_add_up_to_at_least_ten_thousand_inputs() -> None:
    assert sum(BUDGETS.values()) >= TOTAL_AT_LEAST == 10_000


def test_each_budget_is_the_example_count_of_exactly_one_test(repo_root: Path) -> None:
    used = [name for path in (repo_root / "tests").rglob("test_*.py")
            for name in re.findall(r'@budget\("([a-z_.]+)"\)', path.read_text())]
    assert sorted(used) == sorted(BUDGETS)
    assert all(budget(name).max_examples == count for name, count in BUDGETS.items())
    assert all(budget(name).derandomize and budget(name).deadline is None for name in BUDGETS)
