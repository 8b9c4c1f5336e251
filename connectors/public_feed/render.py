"""Query parameters in, JSON pages and Atom 1.0 documents out.

Both formats page the same way: ``page`` from 1, ``per_page`` entries, newest first by the time
govbus published the change; the JSON page has ``links`` (self, first, last, next, prev) and the
Atom feed has the same as ``<link rel=...>`` (RFC 5005 paging). An Atom entry's id is the event id
(``urn:uuid:...``), its ``updated`` the published time, its content the public record as JSON.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from connectors.public_feed.bodies import FeedEntry, FeedPage, Links, Title
from connectors.public_feed.disclosure import iso
from connectors.public_feed.state import Entry, Page

ATOM_NS = "http://www.w3.org/2005/Atom"
PARAMETERS = ("item", "page", "per_page")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class BadParameter(Exception):
    """A query parameter the client must fix (answered with 400)."""

    def __init__(self, parameter: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.details = details


@dataclass(frozen=True)
class Query:
    item: str | None
    page: int
    per_page: int


def parse_query(query: Mapping[str, str], repeated: list[str], served: list[str], per_page: int,
                max_per_page: int) -> Query:
    """The checked query; :class:`BadParameter` saying what to fix otherwise."""
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise BadParameter(unknown[0], f"unknown parameter {unknown[0]!r}; the feed takes {', '.join(PARAMETERS)}",
                           allowed=list(PARAMETERS))
    if repeated:
        raise BadParameter(repeated[0], f"parameter {repeated[0]!r} is given more than once; give it once")
    item = query.get("item") or None
    if item is not None and item not in served:
        raise BadParameter("item", f"item {item!r} is not served here; the feed serves the items open to the "
                           f"public: {', '.join(served)}", allowed=served)
    return Query(item, _whole(query, "page", 1, 1, None), _whole(query, "per_page", per_page, 1, max_per_page))


def _whole(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    limits = f"from {low} to {high}" if high else f"from {low}"
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise BadParameter(name, f"{name} must be a whole number {limits}, got {text!r}")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise BadParameter(name, f"{name} must be a whole number {limits}, got {value}")
    return value


def page_url(base_url: str, path: str, query: Query, page: int) -> str:
    params: dict[str, str | int] = {"item": query.item} if query.item else {}
    params.update(page=page, per_page=query.per_page)
    return f"{base_url}{path}?{urlencode(params)}"


def links(base_url: str, path: str, query: Query, page: Page) -> Links:
    last = page.pages
    return Links(
        self_=page_url(base_url, path, query, page.number),
        first=page_url(base_url, path, query, 1),
        last=page_url(base_url, path, query, last),
        next=page_url(base_url, path, query, page.number + 1) if page.number < last else None,
        prev=page_url(base_url, path, query, min(page.number - 1, last)) if page.number > 1 else None,
    )


def entry_json(entry: Entry, titles: Mapping[str, Any]) -> FeedEntry:
    title = titles[entry.item]
    return FeedEntry(id=entry.event_id, item=entry.item, title=Title(zh=title.zh, en=title.en),
                     record_key=entry.key, occurred_at=iso(entry.occurred_at),
                     published_at=iso(entry.published_at), record=dict(entry.record))


def page_json(base_url: str, query: Query, page: Page, titles: Mapping[str, Any]) -> FeedPage:
    return FeedPage(item=query.item, page=page.number, per_page=page.per_page, total=page.total, pages=page.pages,
                    links=links(base_url, "/feed", query, page),
                    entries=[entry_json(entry, titles) for entry in page.entries])


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def atom_feed(base_url: str, title: str, query: Query, page: Page, titles: Mapping[str, Any],
              started_at: str) -> bytes:
    """The page as an Atom 1.0 feed document (UTF-8)."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    feed_id = f"{base_url}/feed.atom" + (f"?{urlencode({'item': query.item})}" if query.item else "")
    _sub(feed, "id", feed_id)
    item_title = titles[query.item] if query.item else None
    _sub(feed, "title", f"{title} · {item_title.zh}" if item_title else title)
    _sub(feed, "updated", iso(page.entries[0].published_at) if page.entries else started_at)
    author = _sub(feed, "author")
    _sub(author, "name", "govbus")
    _sub(feed, "generator", "govbus public feed")
    for rel, href in links(base_url, "/feed.atom", query, page).model_dump(by_alias=True).items():
        if href is not None:
            _sub(feed, "link", rel="previous" if rel == "prev" else rel, href=href,
                 type="application/atom+xml")
    _sub(feed, "link", rel="alternate", type="application/json",
         href=page_url(base_url, "/feed", query, page.number))
    for entry in page.entries:
        _atom_entry(feed, entry, titles)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _atom_entry(feed: ET.Element, entry: Entry, titles: Mapping[str, Any]) -> None:
    element = _sub(feed, "entry")
    _sub(element, "id", f"urn:uuid:{entry.event_id}")
    _sub(element, "title", f"{titles[entry.item].zh} {entry.key}")
    _sub(element, "updated", iso(entry.published_at))
    _sub(element, "category", term=entry.item, label=titles[entry.item].en)
    content = {"item": entry.item, "record_key": entry.key, "occurred_at": iso(entry.occurred_at),
               "record": dict(entry.record)}
    _sub(element, "content", json.dumps(content, ensure_ascii=False, indent=1), type="text")
