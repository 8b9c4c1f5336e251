"""`govbus catalogue list|show`: what data items exist, who owns them, how they are shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from govbus.asyncapi import bus_document, markdown_page
from govbus.asyncapi.output import as_text
from govbus.exceptions import ConfigurationError, UnknownDataItemError
from govbus.topic_names import TopicSettings
from schemas.catalogue.avro_fields import schema_fields
from schemas.catalogue.loader import CatalogueSettings, load_catalogue
from schemas.catalogue.metadata import SharingClass
from schemas.catalogue.model import Catalogue, DataItem

_CLASS_STYLE = {SharingClass.UNCONDITIONAL: "green", SharingClass.CONDITIONAL: "yellow",
                SharingClass.NOT_SHARED: "red"}


def catalogue_from(directory: Path | None) -> Catalogue:
    """The catalogue in ``directory``, else GOVBUS_CATALOGUE_DIR, else the packaged one."""
    settings = CatalogueSettings(catalogue_dir=directory) if directory else CatalogueSettings()
    return load_catalogue(settings.catalogue_dir)


def topic_prefix(prefix: str | None) -> str:
    """``prefix``, else GOVBUS_TOPIC_PREFIX, else ``govbus``."""
    settings = TopicSettings(topic_prefix=prefix) if prefix else TopicSettings()
    return settings.topic_prefix


def item_summary(item: DataItem, prefix: str) -> dict[str, Any]:
    """The item's metadata as JSON-ready data, with its topics and subject."""
    topics = item.topics(prefix)
    return {
        **item.metadata.model_dump(mode="json"),
        "topics": {"department": topics.department, "canonical": topics.canonical,
                   "dead_letter": topics.dead_letter},
        "subject": topics.department_subject,
        "event_name": item.event_name,
    }


def list_items(directory: Path | None, prefix: str | None, department: str | None, as_json: bool) -> None:
    """Print every item (or a department's) as a table or JSON."""
    catalogue = catalogue_from(directory)
    items = catalogue.owned_by(department) if department else catalogue.items()
    if as_json:
        chosen = topic_prefix(prefix)
        click.echo(json.dumps([item_summary(item, chosen) for item in items], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(items)} data items", show_lines=False)
    for column in ("item", "title", "department", "sharing", "open", "personal fields", "key"):
        table.add_column(column, overflow="fold")
    for item in items:
        style = _CLASS_STYLE[item.sharing_class]
        table.add_row(
            item.name, f"{item.metadata.title.zh}\n{item.metadata.title.en}", item.department,
            f"[{style}]{item.sharing_class.value}[/]", "yes" if item.open_to_public else "no",
            ", ".join(f"{name} ({kind.value})" for name, kind in item.personal_fields.items()) or "-",
            " | ".join(item.key_fields),
        )
    Console().print(table)


def show_item(name: str, directory: Path | None, prefix: str | None, as_json: bool) -> None:
    """Print one item: metadata, topics, personal fields and masking, and every field's type, doc and class."""
    catalogue = catalogue_from(directory)
    try:
        item = catalogue.get(name)
    except UnknownDataItemError as error:
        hint = f"close matches: {', '.join(error.close_matches)}" if error.close_matches else "no close match"
        raise ConfigurationError(f"no data item {name!r} in the catalogue; {hint} "
                                 f"(`govbus catalogue list` shows all {len(error.known)})") from None
    chosen = topic_prefix(prefix)
    if as_json:
        summary = item_summary(item, chosen)
        summary["fields"] = [{"name": n, "type": t, "doc": d} for n, t, d in schema_fields(item.record_schema)]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(_overview(item, chosen))
    if item.personal_fields:
        console.print(_personal_table(item))
    console.print(_fields_table(item))


def _overview(item: DataItem, prefix: str) -> Table:
    meta = item.metadata
    topics = item.topics(prefix)
    table = Table(title=f"{meta.title.zh} / {meta.title.en} ({item.name})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    sharing = f"[{_CLASS_STYLE[meta.sharing_class]}]{meta.sharing_class.value}[/]"
    if meta.sharing_conditions:
        sharing += f"\n{meta.sharing_conditions}"
    rows = [
        ("code", meta.code),
        ("owner", f"{meta.department.value} ({meta.department.title_zh})"),
        ("description", meta.description),
        ("sharing class", sharing),
        ("open to public", "yes" if meta.open_to_public else "no"),
        ("key", " | ".join(meta.key_fields)),
        ("identifiers", ", ".join(f"{f} ({k.value})" for f, k in meta.identifier_fields.items()) or "-"),
        ("update cycle", meta.update_cycle.value),
        ("compatibility", meta.compatibility.value),
        ("topics", f"{topics.department}\n{topics.canonical}\n{topics.dead_letter}"),
        ("subject", f"{topics.department_subject} ({item.event_name})"),
        ("legal basis", "\n".join(meta.legal_basis)),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def _personal_table(item: DataItem) -> Table:
    table = Table(title="personal fields (masked unless a grant names them)")
    for column in ("field", "masking", "shown as"):
        table.add_column(column)
    for name, kind in item.personal_fields.items():
        table.add_row(name, kind.value, kind.example)
    return table


def _fields_table(item: DataItem) -> Table:
    marks = {path: "not personal" for path in item.not_personal_fields}
    marks.update({path: f"personal, masked as {kind.value}" for path, kind in item.personal_fields.items()})
    for name, kind in item.identifier_fields.items():
        marks[name] = ", ".join(filter(None, [marks.get(name), f"checked as {kind.value}"]))
    table = Table(title=f"fields of {item.event_name[:-len('Event')]}")
    for column in ("field", "type", "doc", "notes"):
        table.add_column(column, overflow="fold")
    for name, type_text, doc in schema_fields(item.record_schema):
        table.add_row(name, type_text, doc, marks.get(name, ""))
    return table



def write_asyncapi(out: Path | None, page: Path | None, prefix: str | None) -> None:
    """Write the AsyncAPI document to ``out`` (YAML or JSON by its suffix; stdout as YAML without one) and its
    Markdown page to ``page`` if given."""
    document = bus_document(topic_prefix(prefix))
    text = as_text(document, out)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write(out, text)
    if page is not None:
        _write(page, markdown_page(document))


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror}; choose a writable file") from None
