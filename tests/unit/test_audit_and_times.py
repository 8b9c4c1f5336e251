"""Audit queries over records, and the time formats `--since` / `--from` accept."""

from __future__ import annotations

import datetime as dt

import pytest

from govbus.audit import AuditRecord, Outcome, deliveries_to, who_received
from govbus.exceptions import ConfigurationError
from govbus.timespec import parse_time

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def _record(subscriber: str, key: str, outcome: Outcome, minutes: int = 0) -> AuditRecord:
    return AuditRecord(at=T0 + dt.timedelta(minutes=minutes), subscriber=subscriber, subscription=f"{subscriber}-sub",
                       connector="webhook", item="enterprise_registration", record_key=key, event_id=f"e-{key}",
                       outcome=outcome, fields_delivered=["uscc"] if outcome is Outcome.DELIVERED else [])


RECORDS = [_record("a", "K1", Outcome.DELIVERED), _record("b", "K1", Outcome.REFUSED, 1),
           _record("c", "K1", Outcome.PARKED, 2), _record("a", "K2", Outcome.DELIVERED, 3)]


def test_who_received_lists_deliveries_unless_asked_for_every_outcome() -> None:
    assert [r.subscriber for r in who_received(RECORDS, "enterprise_registration", "K1")] == ["a"]
    every = who_received(RECORDS, "enterprise_registration", "K1", tuple(Outcome))
    assert [r.outcome for r in every] == [Outcome.DELIVERED, Outcome.REFUSED, Outcome.PARKED]
    assert who_received(RECORDS, "credit_record", "K1") == []


def test_deliveries_to_a_subscriber() -> None:
    assert [r.record_key for r in deliveries_to(RECORDS, "a")] == ["K1", "K2"]
    assert deliveries_to(RECORDS, "b", (Outcome.DELIVERED,)) == []


def test_records_round_trip_as_json() -> None:
    assert AuditRecord.model_validate_json(RECORDS[0].model_dump_json()) == RECORDS[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T10:00:00+08:00", T0), ("2026-11-23T02:00:00Z", T0), ("15m", T0 - dt.timedelta(minutes=15)),
    ("2h", T0 - dt.timedelta(hours=2)), ("7d", T0 - dt.timedelta(days=7)), ("90s", T0 - dt.timedelta(seconds=90))])
def test_times(text: str, expected: dt.datetime) -> None:
    assert parse_time(text, now=T0) == expected


def test_a_time_without_a_zone_is_local_and_garbage_is_refused() -> None:
    parsed = parse_time("2026-11-23")
    assert parsed.tzinfo is not None and parsed.replace(tzinfo=None) == dt.datetime(2026, 11, 23)
    with pytest.raises(ConfigurationError, match="is not a time"):
        parse_time("yesterday")
