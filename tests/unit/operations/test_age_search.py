"""The bisection on ListOffsets-by-timestamp finds the record's time, exactly or within the precision, from
below, in a bounded number of rounds (a partition simulated as its records' timestamps)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from govbus.operations.age_search import MAX_ROUNDS, PRECISION_MS, RELATIVE_PRECISION, AgeSearch

NOW = 1_800_000_000_000


def first_at_or_after(stamps: list[int], start: int, asked: int) -> tuple[int, int]:
    """What the broker answers: the first offset (from the log start) stamped at or after ``asked``."""
    for offset in range(start, len(stamps)):
        if stamps[offset] >= asked:
            return offset, stamps[offset]
    return -1, -1


def search(stamps: list[int], target: int, start: int = 0) -> AgeSearch:
    found = AgeSearch(target, NOW)
    while not found.done:
        found.answer(*first_at_or_after(stamps, start, found.probe()))
    return found


def test_a_target_that_is_the_first_record_is_found_in_one_round() -> None:
    stamps = [NOW - 90_000, NOW - 60_000, NOW - 30_000]
    found = search(stamps, 0)
    assert (found.found, found.rounds) == (NOW - 90_000, 1)


def test_evenly_spaced_records_are_found_exactly_in_a_few_rounds() -> None:
    stamps = [NOW - 7 * 86_400_000 + i * 200_000 for i in range(3000)]
    found = search(stamps, 1234)
    assert found.found == stamps[1234]
    assert found.rounds <= 6


def test_a_target_removed_by_retention_gives_the_first_record_left() -> None:
    stamps = [NOW - 100_000 + i for i in range(100)]
    assert search(stamps, 10, start=40).found == stamps[40]


def test_records_of_the_same_millisecond_give_that_millisecond() -> None:
    stamps = [NOW - 50_000] * 5 + [NOW - 10_000] * 5
    assert search(stamps, 3).found == NOW - 50_000
    assert search(stamps, 7).found == NOW - 10_000


def test_a_record_stamped_in_the_future_has_waited_no_time() -> None:
    stamps = [NOW - 10_000, NOW + 3_600_000]
    found = search(stamps, 1).found
    assert found is not None and NOW - found <= PRECISION_MS


def test_an_empty_partition_has_no_time() -> None:
    assert search([], 0).found is None


@settings(max_examples=300, deadline=None)
@given(gaps=st.lists(st.integers(0, 10 ** 9), min_size=1, max_size=300), data=st.data())
def test_the_time_found_is_never_later_and_within_the_precision(gaps: list[int], data: st.DataObject) -> None:
    first = NOW - sum(gaps) - data.draw(st.integers(0, 10 ** 10))
    stamps = [first + sum(gaps[:i]) for i in range(len(gaps))]
    target = data.draw(st.integers(0, len(stamps) - 1))
    found = search(stamps, target)
    assert found.found is not None
    true = stamps[target]
    assert found.found <= true
    assert true - found.found <= max(PRECISION_MS, (NOW - true) * RELATIVE_PRECISION)
    assert found.rounds <= min(MAX_ROUNDS, 2 * math.ceil(math.log2(NOW - first + 2)) + 2)


@settings(max_examples=100, deadline=None)
@given(stamps=st.lists(st.integers(NOW - 10 ** 9, NOW + 10 ** 6), min_size=1, max_size=100), data=st.data())
def test_stamps_out_of_order_still_end_the_search_with_a_time_in_range(stamps: list[int],
                                                                      data: st.DataObject) -> None:
    target = data.draw(st.integers(0, len(stamps) - 1))
    found = search(stamps, target)
    assert found.rounds <= MAX_ROUNDS
    assert found.found is not None and min(min(stamps), NOW) <= found.found <= max(max(stamps), NOW)
