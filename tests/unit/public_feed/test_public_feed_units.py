"""The feed's pure parts: state and paging, query checks, what may be disclosed, Atom."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connectors.public_feed.disclosure import open_items, public_record
from connectors.public_feed.render import BadParameter, Query, atom_feed, parse_query
from connectors.public_feed.state import Entry, FeedState
from govbus.exceptions import ConfigurationError
from schemas.catalogue import load_catalogue

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def entry(item: str, key: str, second: int, **record: object) -> Entry:
    return Entry(f"00000000-0000-0000-0000-{second:012d}", item, key, T0, T0 + dt.timedelta(seconds=second),
                 {"key": key, **record})


def test_state_pages_newest_first_and_replaces_and_removes() -> None:
    state = FeedState(["a", "b"])
    for n in range(10):
        state.put(entry("a" if n % 2 else "b", f"k{n}", n))
    state.put(entry("a", "k1", 20, v="new"))  # an update moves the key to the top
    state.remove("b", "k8")
    state.remove("b", "missing")
    first = state.page(None, 1, 4)
    assert [e.key for e in first.entries] == ["k1", "k9", "k7", "k6"]
    assert first.entries[0].record["v"] == "new"
    assert first.total == 9 and first.pages == 3
    assert [e.key for e in state.page(None, 3, 4).entries] == ["k0"]
    assert state.page(None, 4, 4).entries == []
    assert [e.key for e in state.page("a", 1, 10).entries] == ["k1", "k9", "k7", "k5", "k3"]
    assert state.count("b") == 4


@pytest.mark.parametrize(("query", "parameter"), [
    ({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"page": "١"}, "page"), ({"per_page": "501"}, "per_page"),
    ({"item": "identity_verification"}, "item"), ({"order": "asc"}, "order"),
])
def test_bad_queries_name_the_parameter(query: dict[str, str], parameter: str) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_query(query, [], ["credit_record"], 50, 500)
    assert raised.value.parameter == parameter


def test_a_good_query() -> None:
    assert parse_query({"item": "credit_record", "page": "2"}, [], ["credit_record"], 50, 500) == \
        Query("credit_record", 2, 50)


def test_only_open_items_are_served() -> None:
    catalogue = load_catalogue()
    served = [item.name for item in open_items([], catalogue)]
    assert "government_procurement_award" in served and "identity_verification" not in served
    with pytest.raises(ConfigurationError, match="enterprise_registration: not open to the public"):
        open_items(["credit_record", "enterprise_registration"], catalogue)


def test_public_records_have_no_personal_field() -> None:
    item = load_catalogue().get("affordable_housing_allocation")
    record = {"allocation_number": "A1", "applicant_name": "张三", "applicant_resident_id": "x",
              "unit_address": "y", "allocated_on": dt.date(2026, 1, 2)}
    assert public_record(item, record) == {"allocation_number": "A1", "allocated_on": "2026-01-02"}


def test_atom_is_well_formed_even_with_control_characters() -> None:
    state = FeedState(["credit_record"])
    state.put(entry("credit_record", "k\x01", 1, note="a\x02b<&>"))
    title = load_catalogue().get("credit_record").metadata.title
    body = atom_feed("http://feed", "T", Query(None, 1, 10), state.page(None, 1, 10), {"credit_record": title}, "x")
    root = ET.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.findtext(f"{atom}updated") == "2026-01-01T00:00:01.000Z"
    assert root.findtext(f"{atom}entry/{atom}title") == f"{title.zh} k"
    assert "a\\u0002b<&>" in (root.findtext(f"{atom}entry/{atom}content") or "")


def test_state_lives_in_a_file_deleted_on_close_and_orphans_of_killed_feeds_are_removed(tmp_path: Path) -> None:
    orphan = tmp_path / "govbus-feed-999999999-x.sqlite"  # no such process
    orphan.write_bytes(b"")
    state = FeedState(["a"], directory=tmp_path)
    state.put(entry("a", "k1", 1, v="x" * 1000))
    assert not orphan.exists() and state.path.exists() and state.path.stat().st_size > 1000
    assert state.page("a", 1, 10).entries == [entry("a", "k1", 1, v="x" * 1000)]
    state.close()
    assert not state.path.exists()
