"""Profile messages through the webhook's planning and payload: tombstones as deletes keyed by the
profile key, the key pseudonymised while masked, versions caused by unplanned sides skipped, grants of
every side in the authorisation's expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.webhook.payload import dumps, shape_event
from connectors.webhook.plans import authorise_items
from connectors.webhook.profile_events import HEADER_CAUSED_BY, HEADER_EVENT_ID, profile_event, unchanged_for
from govbus.exceptions import DecodeError
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.pseudonyms import PSEUDONYM_PREFIX, PseudonymKey
from schemas.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
RESIDENT_ID = "11010519491231002X"
PSEUDONYMS = PseudonymKey("platform-key-of-the-profile-tests-0123456789").for_subscriber("hz-centre")


class _Message:
    """A profile message as the consumer hands it over (confluent_kafka.Message's accessors)."""

    def __init__(self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        self._key, self._value, self._headers = key, value, headers

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return 1, int(NOW.timestamp() * 1000)


def _grant(grant_id: str, item: str, approved_by: str, fields: list[str], expires_in_days: int = 30,
           unmasked: list[str] | None = None) -> Grant:
    return Grant.model_validate({"grant_id": grant_id, "subscriber": "hz-centre", "item": item,
                                 "approved_by": approved_by, "purpose": "residency checks", "fields": fields,
                                 "unmasked": unmasked or [], "expires_at": NOW + dt.timedelta(days=expires_in_days)})


SUBSCRIPTION = Subscription.model_validate({
    "name": "hz", "subscriber": "hz-centre",
    "items": [{"item": "profile:person", "fields": ["resident_id", "identity.name", "degrees.major"]}],
    "delivery": {"kind": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "X"}})
GRANTS = [_grant("id-1", "identity_verification", "public-security", ["resident_id", "name"], 90),
          _grant("edu-1", "degree_certification", "education", ["major"], 10)]


def test_the_profile_headers_are_the_ones_the_profile_builder_writes() -> None:
    from streams.profiles import app

    assert (HEADER_EVENT_ID, HEADER_CAUSED_BY) == (app.HEADER_EVENT_ID, app.HEADER_CAUSED_BY)


def test_a_profile_is_decided_with_its_key_field_topic_and_every_sides_grant() -> None:
    authorisation = authorise_items(SUBSCRIPTION, CATALOGUE, GRANTS, NOW, "govbus.t", 1)
    decision = authorisation.decide("profile:person")
    assert decision.plan is not None and decision.key_fields == ("resident_id",)
    assert authorisation.topics == {"govbus.t.profile.person": "profile:person"}
    assert authorisation.valid_until == NOW + dt.timedelta(days=10), "the degree grant expires first"
    refused = authorise_items(SUBSCRIPTION, CATALOGUE, GRANTS[:1], NOW, "govbus.t", 1).decide("profile:person")
    assert refused.plan is None and "side degrees" in (refused.reason or "")


def test_a_tombstone_is_a_delete_of_the_pseudonymised_key_with_the_header_event_id() -> None:
    decision = authorise_items(SUBSCRIPTION, CATALOGUE, GRANTS, NOW, "govbus.t", 1).decide("profile:person")
    assert decision.plan is not None
    message = _Message(RESIDENT_ID.encode(), None, [(HEADER_EVENT_ID, b"e-1"), (HEADER_CAUSED_BY, b"c-1")])
    event = profile_event("profile:person", message, decoder=None)  # type: ignore[arg-type]  # nothing to decode
    shaped = shape_event(event, decision.plan, decision.key_fields, PSEUDONYMS)
    assert shaped.body["operation"] == "DELETE" and shaped.body["record"] is None
    assert shaped.body["idempotency_key"] == "e-1" and shaped.body["trace_id"] == "c-1"
    assert shaped.body["item"] == "profile:person" and shaped.body["department"] is None
    assert shaped.body["record_key"].startswith(PSEUDONYM_PREFIX), "the masked resident id never leaks via the key"
    assert RESIDENT_ID.encode() not in dumps(shaped.body)
    with pytest.raises(DecodeError, match=r"govbus\.event_id"):
        profile_event("profile:person", _Message(b"k", None, []), decoder=None)  # type: ignore[arg-type]


def _upsert(cause: str) -> dict[str, Any]:
    record = {"resident_id": RESIDENT_ID, "identity": {"resident_id": RESIDENT_ID, "name": "张三丰"},
              "degree_certifications": [{"major": "数学", "holder_name": "张三丰"}], "real_estate_titles": []}
    return {"event_id": "e-2", "data_item": "profile:person", "department": None, "operation": "UPSERT",
            "record_key": RESIDENT_ID, "occurred_at": NOW, "published_at": NOW, "trace_id": "c-2",
            "record": record, "caused_by_item": cause}


def test_an_upsert_is_shaped_per_side_and_versions_caused_by_unplanned_sides_are_skipped() -> None:
    decision = authorise_items(SUBSCRIPTION, CATALOGUE, GRANTS, NOW, "govbus.t", 1).decide("profile:person")
    assert decision.plan is not None
    shaped = shape_event(_upsert("degree_certification"), decision.plan, decision.key_fields, PSEUDONYMS)
    assert shaped.body["record"] == {"resident_id": "110105********002X", "identity": {"name": "张**"},
                                     "degree_certifications": [{"major": "数学"}]}
    assert shaped.masked_fields == ["resident_id", "identity.name"]
    assert not unchanged_for(_upsert("degree_certification"), decision.plan)
    assert unchanged_for(_upsert("real_estate_registration"), decision.plan), "no side of the plan changed"
    assert not unchanged_for({**_upsert("real_estate_registration"), "record": None}, decision.plan)


def test_the_readme_profile_request_is_planned_as_the_readme_says() -> None:
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parents[3] / "connectors" / "webhook" / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "profile:person" in b)
    subscription = SUBSCRIPTION.model_copy(update={"items": Subscription.model_validate(
        {**SUBSCRIPTION.model_dump(), **yaml.safe_load(block)}).items})
    grants = [_grant("id-1", "identity_verification", "public-security",
                     ["resident_id", "name", "division_code", "card_status"], unmasked=["name"]),
              _grant("edu-1", "degree_certification", "education", ["major", "holder_name"]),
              _grant("re-1", "real_estate_registration", "natural-resources", ["certificate_number", "location"])]
    plan = authorise_items(subscription, CATALOGUE, grants, NOW, "govbus", 1).decide("profile:person").plan
    assert plan is not None
    assert plan.masked_paths == ("resident_id", "degree_certifications.holder_name", "real_estate_titles.location")
    assert "degree_certifications.major" in plan.field_paths
    assert plan.matches({"identity": {"division_code": "330106", "card_status": "VALID"}})
