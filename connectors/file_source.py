"""Bulk-load a JSON-lines or CSV file of records through the Publisher.

Every line is either accepted (validated and handed to the producer, then acknowledged by the
broker) or rejected with its line number, field, rule and reason; nothing is skipped silently.
A line that is not UTF-8 (``utf8``), not JSON or nested too deeply (``json``), or not readable as
CSV (``csv``: a cell over the CSV module's size limit) is rejected alone: the rest of the file
is still loaded.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from govbus.exceptions import ConfigurationError, ValidationError
from govbus.publisher import Delivery, Publisher

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str
    rule: str
    reason: str


@dataclass
class LoadReport:
    item: str
    source: str
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "file": self.source, "accepted": self.accepted,
                "rejected_count": len(self.rejected), "rejected": [asdict(r) for r in self.rejected]}


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix == "csv":
        return "csv"
    raise ConfigurationError(f"cannot tell the format of {path.name!r} from its suffix; pass --format jsonl or csv")


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""What ``errors="surrogateescape"`` makes of bytes that are not UTF-8 (a JSON escape such as ``\\udc80`` is
still text here: it is refused later, by the item's text rule)."""
_NOT_UTF8_REASON = "line is not UTF-8 text: save the file as UTF-8"


def read_records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | Rejection]]:
    """Yield (line number, record) or (line number, Rejection) for a line that does not parse."""
    if not path.is_file():
        raise ConfigurationError(f"{path} is not a readable file")
    # bytes that are not UTF-8 are kept as lone surrogates, so the line holding them is rejected, not the file
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        if fmt == "csv":
            yield from _csv_records(handle)
        else:
            yield from parse_json_lines(handle)


def parse_json_lines(lines: Any) -> Iterator[tuple[int, dict[str, Any] | Rejection]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _NOT_UTF8.search(line):
            yield number, Rejection(number, "", "utf8", _NOT_UTF8_REASON)
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield number, Rejection(number, "", "json", f"line is not valid JSON: {error}")
            continue
        except RecursionError:
            yield number, Rejection(number, "", "json", "line is JSON nested too deeply to be read; a record holds "
                                    "at most lists of records")
            continue
        if not isinstance(value, dict):
            yield number, Rejection(number, "", "json", "line is JSON but not an object")
            continue
        yield number, value


def _csv_records(handle: Any) -> Iterator[tuple[int, dict[str, Any] | Rejection]]:
    reader = csv.DictReader(handle)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:  # the reader goes on with the next line
            yield reader.line_num + 1, Rejection(reader.line_num + 1, "", "csv", f"line cannot be read as CSV: {error}")
            continue
        number = reader.line_num
        if None in row:
            yield number, Rejection(number, "", "csv", "line has more cells than the header")
            continue
        bad = next((name for name, value in row.items() if _NOT_UTF8.search(f"{name}{value}")), None)
        if bad is not None:
            yield number, Rejection(number, "" if _NOT_UTF8.search(bad) else bad, "utf8", _NOT_UTF8_REASON)
            continue
        # an empty cell means "no value": let the item's model decide whether that is allowed
        yield number, {k: v for k, v in row.items() if v not in ("", None)}


CHUNK = 1000
"""Records handed to :meth:`Publisher.publish_many` at a time (its outcomes wait for the broker's answer)."""


def load_file(publisher: Publisher, item: str, path: Path, fmt: str | None = None,
              on_line: Callable[[], None] = lambda: None) -> LoadReport:
    """Publish every record of ``path`` in chunks; wait for the broker's acknowledgements; report."""
    publisher.item(item)  # fail fast on an unknown item or one the department does not own
    report = LoadReport(item, str(path))
    chunk: list[tuple[int, dict[str, Any]]] = []
    broker_gone = False
    for number, parsed in read_records(path, detect_format(path, fmt)):
        on_line()
        if isinstance(parsed, Rejection):
            report.rejected.append(parsed)
        elif broker_gone:
            report.rejected.append(Rejection(number, "", "not_sent", "not sent: the broker stopped acknowledging "
                                             "earlier lines; load the file again once it answers"))
        else:
            chunk.append((number, parsed))
            if len(chunk) == CHUNK:
                broker_gone = _publish_chunk(publisher, item, chunk, report)
                chunk = []
    if chunk:
        _publish_chunk(publisher, item, chunk, report)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _publish_chunk(publisher: Publisher, item: str, chunk: list[tuple[int, dict[str, Any]]],
                   report: LoadReport) -> bool:
    """Publish ``chunk`` into ``report``; True when the broker stored none of the records sent (it is gone, and
    the rest of the file is not sent: a chunk would wait a delivery timeout each)."""
    outcomes = publisher.publish_many(item, [record for _, record in chunk])
    failed = sent = 0
    for (number, _), outcome in zip(chunk, outcomes, strict=True):
        if isinstance(outcome, Delivery):
            report.accepted += 1
            sent += 1
        elif isinstance(outcome, ValidationError):
            report.rejected.append(Rejection(number, outcome.field, outcome.rule, outcome.detail))
        else:
            report.rejected.append(Rejection(number, "", "delivery", str(outcome)))
            failed += 1
            sent += 1
    return sent > 0 and failed == sent
