"""Tables the demo ends its steps with."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from govbus.demo.results import PathResult


def print_paths_summary(console: Console, results: list[PathResult]) -> None:
    table = Table(title="Departments publishing: every path")
    table.add_column("department")
    table.add_column("path")
    table.add_column("data item")
    table.add_column("sent", justify="right")
    table.add_column("accepted", justify="right")
    table.add_column("rejected", justify="right")
    for result in results:
        table.add_row(result.department, result.path, result.item, str(result.sent), str(result.accepted),
                      str(result.rejected))
    console.print(table)
    reasons = Table(title="Rejected at the door, and why (nothing was sent for these)")
    reasons.add_column("department")
    reasons.add_column("field: rule", no_wrap=True)
    reasons.add_column("count", justify="right")
    reasons.add_column("example", overflow="fold")
    for result in results:
        for key, count in result.reasons.most_common():
            reasons.add_row(result.department, key, str(count), result.examples[key])
    console.print(reasons)
    for result in results:
        if result.note:
            console.print(f"  {result.department} ({result.path}): {result.note}", highlight=False)
