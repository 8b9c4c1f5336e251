"""Reading Kafka's ``kafka-transactions find-hanging`` table and the coordinators' ``__transaction_state``
(govbus.platform.hanging, govbus.platform.transaction_log), and which hanging transaction may be aborted; the
transaction log is read from a real broker in tests/integration/operations/test_transaction_log.py."""

from __future__ import annotations

import json

from govbus.platform.hanging import ABORT, COMMIT, KEEP, HangingTransaction, decide, parse_hanging
from govbus.platform.transaction_log import TransactionState, last_listing, parse_states

COLUMNS = ("Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp",
           "Duration(min)")
ROWS = (("__consumer_offsets", "3", "4", "0", "2", "815", "1796472981325", "4"),
        ("govbus.scn-6b233f.profile.person", "1", "4", "0", "2", "12", "1796472981325", "4"))
TABLE = "\n".join("   ".join(f"{cell:<12}" for cell in line) for line in (COLUMNS, *ROWS)) + "\n"


def test_each_row_is_one_hanging_transaction() -> None:
    assert parse_hanging(TABLE) == [HangingTransaction("__consumer_offsets", 3, 4, 0, 815, 4, 2),
                                    HangingTransaction("govbus.scn-6b233f.profile.person", 1, 4, 0, 12, 4, 2)]


def test_no_table_or_an_empty_one_is_nothing() -> None:
    assert parse_hanging("") == []
    assert parse_hanging(TABLE.splitlines()[0]) == []


def _record(status: str, partitions: dict[str, list[int]], producer_id: int = 9, epoch: int = 0) -> str:
    return json.dumps({"key": {"type": 0, "data": {"transactionalId": "normaliser-vm-1"}},
                       "value": {"version": 1, "data": {
                           "producerId": producer_id, "previousProducerId": producer_id, "producerEpoch": epoch,
                           "transactionTimeoutMs": 10000, "transactionStatus": status,
                           "transactionPartitions": [{"topic": t, "partitionIds": ids}
                                                     for t, ids in partitions.items()],
                           "transactionLastUpdateTimestampMs": 1, "transactionStartTimestampMs": 1}}},
                      separators=(",", ":"))


COMMITTED = {"canonical": [2], "changelog": [1], "__consumer_offsets": [1]}
# as the console consumer prints them: objects one after another, the tool's log line among them
LOG = (_record("Ongoing", {"canonical": [2]}) + _record("PrepareCommit", COMMITTED) + _record("CompleteCommit", {})
       + "22:13:35.041 [main] ERROR org.apache.kafka.tools.consumer.ConsoleConsumer - Error processing message"
       + _record("PrepareAbort", {"other": [0]}, producer_id=7))


def _hanging(topic: str, partition: int, producer_id: int = 9) -> HangingTransaction:
    return HangingTransaction(topic, partition, producer_id, 0, 0, 1)


def test_the_transaction_log_is_read_record_by_record_past_the_tools_own_lines() -> None:
    states = parse_states(LOG)
    assert [s.status for s in states] == ["Ongoing", "PrepareCommit", "CompleteCommit", "PrepareAbort"]
    assert states[1].partitions == {("canonical", 2), ("changelog", 1), ("__consumer_offsets", 1)}


def test_a_transaction_its_coordinator_decided_to_commit_gets_its_commit_marker() -> None:
    states = parse_states(LOG)
    assert last_listing(states, 9, 0, ("canonical", 2)) == states[1]
    assert decide(_hanging("canonical", 2), states) == COMMIT
    assert decide(_hanging("__consumer_offsets", 1), states) == COMMIT


def test_a_transaction_never_prepared_or_prepared_to_abort_is_aborted() -> None:
    states = parse_states(LOG)
    assert decide(_hanging("other", 0, producer_id=7), states) == ABORT  # PrepareAbort
    # the same producer's next transaction, never prepared: the earlier one's marker was written there
    later = parse_states(LOG + _record("Ongoing", {"canonical": [2]}))
    assert decide(_hanging("canonical", 2), later) == ABORT
    assert decide(_hanging("changelog", 1), later) == COMMIT  # the later one never wrote there


def test_no_record_of_the_transaction_leaves_it_open() -> None:
    assert decide(_hanging("canonical", 2), []) == KEEP  # the log not read, or compacted away
    assert decide(_hanging("canonical", 2, producer_id=5), parse_states(LOG)) == KEEP


def test_another_epoch_of_the_same_producer_is_another_transaction() -> None:
    states = [TransactionState("t", 9, 3, "PrepareCommit", frozenset({("canonical", 2), ("x", 0)}), 1)]
    assert last_listing(states, 9, 0, ("canonical", 2)) is None
