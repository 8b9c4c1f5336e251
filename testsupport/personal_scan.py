"""Finding personal values in text a run wrote (logs, headers, tables).

Two ways: :func:`personal_values` finds whole resident identity numbers whose check character is
right anywhere in a text (a masked one, ``110101********1239``, is not found); :func:`published_personal`
reads what departments published and collects the values of every field the catalogue calls personal
(names, phones, addresses, identity numbers, nested ones included), so that :func:`values_in` can look
for exactly those. Mobile numbers are not looked for by pattern: an 11-digit number starting with 1 is
as often a tax authority's or an enterprise's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus.connection import KafkaConnection
from govbus.exceptions import DecodeError
from govbus.identifiers import check_resident_id
from govbus.serde import WireDecoder
from govbus.topic_reader import read_topics
from schemas.catalogue import load_catalogue
from schemas.catalogue.metadata import MaskingKind
from streams.dialects import local_dialects

_RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9X](?![0-9])")
_SHORTEST_FULLY_MASKED = 6
"""A value of a field masked whole (``full``) is looked for only from this length: a shorter one (a year, a
code) is found in unrelated text as often as not."""


def personal_values(text: str) -> set[str]:
    """The whole resident identity numbers (valid ones only) in ``text``."""
    return {match for match in _RESIDENT_ID.findall(text) if check_resident_id(match) is None}


def scan_files(paths: Iterable[Path]) -> dict[str, set[str]]:
    """File -> the personal values in it, for every readable text file of ``paths`` that holds any."""
    found = {}
    for path in paths:
        if path.is_file():
            values = personal_values(path.read_text(encoding="utf-8", errors="replace"))
            if values:
                found[str(path)] = values
    return found


def published_personal(kafka: KafkaConnection, registry: SchemaRegistryClient, topics: Iterable[str]) -> set[str]:
    """The personal values (as text) of every change event on ``topics`` (department or canonical topics):
    the values of the fields the event's item classifies personal; events that do not decode are skipped."""
    catalogue = load_catalogue()
    decoder = WireDecoder(registry)
    found: set[str] = set()
    for messages in read_topics(kafka, list(topics)).values():
        for message in messages:
            try:
                event = decoder.decode(message.value()).value
            except DecodeError:
                continue
            record, item = event.get("record"), event.get("data_item")
            if isinstance(record, Mapping) and isinstance(item, str) and item in catalogue:
                for path, kind in _personal_paths(item, message.topic()).items():
                    found.update(findable(kind, value) for value in values_at(record, path))
    found.discard("")
    return found


def _personal_paths(item: str, topic: str | None) -> dict[str, MaskingKind]:
    """Path -> masking of the personal fields of ``item`` as records on ``topic`` hold them: the catalogue's
    paths, or on a local dialect's topic the local names of the fields that become personal ones."""
    personal = load_catalogue().get(item).personal_fields
    for dialect in local_dialects(item):
        if topic and topic.endswith(f".{dialect.name}") and ".local." in topic:
            return {field.name: personal[field.canonical] for field in dialect.fields
                    if field.canonical in personal}
    return personal


def findable(kind: MaskingKind, value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if kind is MaskingKind.FULL and len(text) < _SHORTEST_FULLY_MASKED:
        return ""
    return text


def values_at(record: Mapping[str, Any], path: str) -> Iterator[Any]:
    """Every value at catalogue field path ``path`` (``a.b``, ``a[].b``) of ``record``."""
    yield from _walk(record, re.findall(r"[^.\[\]]+|\[\]", path))


def _walk(value: Any, steps: list[str]) -> Iterator[Any]:
    if value is None:
        return
    if not steps:
        yield value
    elif steps[0] == "[]":
        for element in value if isinstance(value, list | tuple) else ():
            yield from _walk(element, steps[1:])
    elif isinstance(value, Mapping):
        yield from _walk(value.get(steps[0]), steps[1:])


def values_in(text: str, values: Iterable[str]) -> set[str]:
    """Which of ``values`` occur in ``text``."""
    return {value for value in values if value in text}


def shown(text: str, value: str, around: int = 60) -> str:
    """Where ``value`` first occurs in ``text``, with ``around`` characters each side, the value itself masked
    (all but its first character): what a failing test may print."""
    at = text.find(value)
    masked = value[:1] + "*" * (len(value) - 1)
    return text[max(0, at - around):at].replace("\n", " ") + "[" + masked + "]" + \
        text[at + len(value):at + len(value) + around].replace("\n", " ")
