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
