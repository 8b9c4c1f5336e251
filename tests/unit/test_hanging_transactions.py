"""Reading Kafka's ``kafka-transactions find-hanging`` table (govbus.platform.hanging); the sweep itself runs
against the broker in the scenario's broker kill (tests/integration/scenario) and the dev platform's test."""

from __future__ import annotations

from govbus.platform.hanging import HangingTransaction, parse_hanging

COLUMNS = ("Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp",
           "Duration(min)")
ROWS = (("__consumer_offsets", "3", "4", "0", "2", "815", "1796472981325", "4"),
        ("govbus.scn-6b233f.profile.person", "1", "4", "0", "2", "12", "1796472981325", "4"))
TABLE = "\n".join("   ".join(f"{cell:<12}" for cell in line) for line in (COLUMNS, *ROWS)) + "\n"


def test_each_row_is_one_hanging_transaction() -> None:
    assert parse_hanging(TABLE) == [HangingTransaction("__consumer_offsets", 3, 4, 815, 4),
                                    HangingTransaction("govbus.scn-6b233f.profile.person", 1, 4, 12, 4)]


def test_no_table_or_an_empty_one_is_nothing() -> None:
    assert parse_hanging("") == []
    assert parse_hanging(TABLE.splitlines()[0]) == []
