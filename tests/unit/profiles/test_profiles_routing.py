"""Re-keying: where a canonical event goes, and the history that routes deletes and moves."""

from __future__ import annotations

from schemas.catalogue.profiles import load_profiles
from streams.profiles.routing import Forward, needs_history, route, routes_for

DEFINITIONS = load_profiles()


def test_items_feed_the_sides_their_profiles_declare() -> None:
    assert [(r.profile, r.side, r.is_anchor) for r in routes_for("enterprise_registration", DEFINITIONS)] == [
        ("enterprise", "registration", True)]
    assert [(r.profile, r.anchor_field) for r in routes_for("real_estate_registration", DEFINITIONS)] == [
        ("person", "owner_resident_id")]
    assert routes_for("mining_right_transfer", DEFINITIONS) == ()
    assert not needs_history(routes_for("identity_verification", DEFINITIONS))
    assert needs_history(routes_for("credit_record", DEFINITIONS))


def test_anchor_items_go_to_their_own_key_and_a_delete_is_a_removal() -> None:
    routes = routes_for("enterprise_registration", DEFINITIONS)
    assert route(routes, "A", {"uscc": "A"}, {}) == ([Forward("enterprise", "registration", "A", False)], {})
    assert route(routes, "A", None, {})[0] == [Forward("enterprise", "registration", "A", True)]


def test_a_record_goes_to_its_anchor_field_and_is_remembered() -> None:
    routes = routes_for("credit_record", DEFINITIONS)
    forwards, history = route(routes, "D1", {"subject_uscc": "A"}, {})
    assert forwards == [Forward("enterprise", "credit_records", "A", False)]
    assert history == {"enterprise.credit_records": ["A"]}
    assert route(routes, "D1", {"subject_uscc": "A"}, history) == (forwards, history)


def test_a_null_anchor_field_goes_nowhere() -> None:
    routes = routes_for("tax_payment_certificate", DEFINITIONS)
    assert route(routes, "T1", {"taxpayer_uscc": None, "taxpayer_resident_id": "110"}, {}) == ([], {})


def test_a_moved_record_leaves_every_earlier_key_and_a_delete_reaches_them_all() -> None:
    routes = routes_for("credit_record", DEFINITIONS)
    _, history = route(routes, "D1", {"subject_uscc": "A"}, {})
    forwards, history = route(routes, "D1", {"subject_uscc": "B"}, history)
    assert forwards == [Forward("enterprise", "credit_records", "A", True),
                        Forward("enterprise", "credit_records", "B", False)]
    assert history == {"enterprise.credit_records": ["A", "B"]}
    forwards, after = route(routes, "D1", None, history)
    assert forwards == [Forward("enterprise", "credit_records", "A", True),
                        Forward("enterprise", "credit_records", "B", True)]
    assert after == history, "the history only grows, so a replayed delete still finds every key"


def test_the_offset_guard_stops_on_skipped_offsets_but_allows_redelivery() -> None:
    import pytest

    from streams.guards import OffsetGuard, SkippedOffsetsError

    class TP:
        def __init__(self, partition: int) -> None:
            self.topic, self.partition = "input", partition

    guard, p0, p1 = OffsetGuard(), TP(0), TP(1)
    for offset in (50, 51, 52):
        guard.check(p0, offset)
    guard.check(p1, 7)  # another partition keeps its own count
    guard.check(p0, 40)  # going back: a re-delivery after a seek
    guard.check(p0, 41)
    with pytest.raises(SkippedOffsetsError, match=r"offsets 42\.\.42 were skipped"):
        guard.check(p0, 43)
    guard.forget([p0])
    guard.check(p0, 90)  # a new assignment starts anywhere


def test_the_offset_guard_stops_when_an_assignment_starts_past_the_committed_offset() -> None:
    import pytest

    from streams.guards import OffsetGuard, SkippedOffsetsError

    class TP:
        def __init__(self, partition: int) -> None:
            self.topic, self.partition = "input", partition

    p0, p1, p2 = TP(0), TP(1), TP(2)
    committed = {p0: 120, p1: 30}
    guard = OffsetGuard(committed.get)
    guard.check(p0, 120)  # starts where the group committed
    guard.check(p1, 25)  # before it: a re-delivery, allowed
    guard.check(p2, 500)  # nothing committed: no start to check
    guard.forget([p1])
    with pytest.raises(SkippedOffsetsError, match=r"committed 30; offsets 30\.\.32 were skipped"):
        guard.check(p1, 33)


def test_the_recovery_watchdog_trips_only_when_recovery_stops_progressing() -> None:
    import pytest

    from streams.guards import RecoveryStalledError, RecoveryWatchdog

    now = [0.0]
    remaining: list[int | None] = [None]
    watchdog = RecoveryWatchdog(lambda: remaining[0], stall_seconds=30, clock=lambda: now[0])

    def at(seconds: float, left: int | None) -> None:
        now[0], remaining[0] = seconds, left
        watchdog.check()

    at(0, None)  # not recovering
    at(10, 500)  # a recovery starts
    at(35, 400)  # slow but progressing
    at(60, 100)
    at(80, 0)  # done
    at(200, 0)  # idle for long: fine
    at(210, 300)  # the next rebalance's recovery
    at(230, 300)  # no progress for 20 s: still within the limit
    with pytest.raises(RecoveryStalledError, match=r"read nothing for 30 s with 300 changelog record"):
        at(240, 300)
