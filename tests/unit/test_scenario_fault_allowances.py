"""The scenario check's allowances for faults: when the revoked subscriber's connector counts as having stopped
reading (bench/scenario/check.py ``interrupted_at``: the revocation, or the start of a fault the revocation fell
in), and when a consumer counts as recovered from its lag (bench/scenario/recovery.py)."""

from __future__ import annotations

from bench.scenario.check import REVOCATION_REACH_S, interrupted_at, unread_since
from bench.scenario.recovery import _lag_recovery

REACH = REVOCATION_REACH_S


def test_without_a_fault_the_connector_stops_reading_at_the_revocation() -> None:
    assert interrupted_at(100.0, []) == 100.0


def test_a_revocation_during_a_fault_dates_the_interruption_from_the_fault() -> None:
    assert interrupted_at(100.0, [(80.0, 110.0)]) == 80.0


def test_a_revocation_just_after_the_restoration_is_still_in_the_fault_window() -> None:
    assert interrupted_at(100.0, [(60.0, 100.0 - REACH + 1)]) == 60.0


def test_a_fault_long_over_before_the_revocation_does_not_excuse_the_connector() -> None:
    assert interrupted_at(100.0, [(40.0, 100.0 - REACH - 1)]) == 100.0


def test_a_fault_after_the_revocation_does_not_move_it() -> None:
    assert interrupted_at(100.0, [(120.0, 130.0)]) == 100.0


def test_a_connector_keeping_up_is_excused_only_what_was_stored_within_the_bound_of_its_cut_off() -> None:
    assert unread_since(100.0, reached=100.0) == 100.0 - REACH
    assert unread_since(100.0, reached=None) == 100.0 - REACH  # it had decided nothing yet


def test_a_lagging_connector_is_excused_what_it_had_not_reached_when_it_was_cut_off() -> None:
    # a loaded machine: at the revocation (t=100) the connector was deciding events stored at t=40
    assert unread_since(100.0, reached=40.0) == 40.0 - REACH


def test_an_event_stored_long_before_what_the_connector_reached_elsewhere_was_lost_behind_a_stall() -> None:
    since = unread_since(100.0, reached=40.0)
    stalled_partition_event = 40.0 - REACH - 1
    assert stalled_partition_event < since


def test_a_lag_left_at_the_end_of_a_drained_run_is_residue_not_a_missed_recovery() -> None:
    samples = [{"t": 1.0, "lag_events": {"normaliser": 0, "profiles": 2}},
               {"t": 12.0, "lag_events": {"normaliser": 300, "profiles": 80}},
               {"t": 20.0, "lag_events": {"normaliser": 0, "profiles": 22}},
               {"t": 30.0, "lag_events": {"normaliser": 0, "profiles": 22}}]
    assert _lag_recovery(samples, injected=10.0, ignored=frozenset(), drained=True) == 20.0
    assert _lag_recovery(samples, injected=10.0, ignored=frozenset(), drained=False) is None


def test_recovery_is_the_first_sample_from_which_on_every_lag_stays_normal() -> None:
    samples = [{"t": 1.0, "lag_events": {"normaliser": 3}},
               {"t": 11.0, "lag_events": {"normaliser": 2}},  # just after the kill: nothing has piled up yet
               {"t": 13.0, "lag_events": {}},  # the broker away: no lag could be read
               {"t": 30.0, "lag_events": {"normaliser": 400}},
               {"t": 32.0, "lag_events": {"normaliser": 4}},
               {"t": 34.0, "lag_events": {"normaliser": 0}}]
    assert _lag_recovery(samples, injected=10.0, ignored=frozenset(), drained=True) == 32.0
    assert _lag_recovery(samples[:4], injected=10.0, ignored=frozenset(), drained=False) is None
