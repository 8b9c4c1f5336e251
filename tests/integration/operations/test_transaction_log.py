"""The coordinators' decisions read from a real broker's ``__transaction_state`` (govbus.platform.transaction_log),
as the hanging-transaction sweep reads them before it aborts anything (govbus.platform.hanging): a committed
transaction shows its ``PrepareCommit`` with every partition it wrote to, an aborted one none."""

from __future__ import annotations

import uuid
from pathlib import Path

from confluent_kafka import TopicPartition

from govbus import clients
from govbus.platform import kafka_tools, transaction_log
from govbus.settings import PlatformSettings
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at


def test_a_committed_transaction_is_found_with_its_partitions_and_an_aborted_one_is_not(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    admin = kafka_at(kafka_bootstrap)
    prefix = f"txlog-{uuid.uuid4().hex[:8]}"
    topic, group = f"{prefix}.canonical", f"{prefix}.group"
    ensure_topics(admin, [TopicSpec(topic, 2)])
    member = clients.consumer(admin, group, {"enable.auto.commit": False})
    committed_id, aborted_id = f"{prefix}-committed", f"{prefix}-aborted"
    try:
        committer = clients.producer(admin, {"transactional.id": committed_id})
        committer.init_transactions(30)
        committer.begin_transaction()
        committer.produce(topic, value=b"a", partition=0)
        committer.produce(topic, value=b"b", partition=1)
        committer.send_offsets_to_transaction([TopicPartition(topic, 0, 1)], member.consumer_group_metadata(), 30)
        committer.commit_transaction(30)
        aborter = clients.producer(admin, {"transactional.id": aborted_id})
        aborter.init_transactions(30)
        aborter.begin_transaction()
        aborter.produce(topic, value=b"c", partition=0)
        assert aborter.flush(30) == 0
        aborter.abort_transaction(30)
    finally:
        member.close()

    states = transaction_log.read_states(PlatformSettings(), kafka_bootstrap,
                                         kafka_tools.tool_properties(admin, tmp_path))

    committed = [s for s in states if s.transactional_id == committed_id]
    prepared = [s for s in committed if s.status == "PrepareCommit"]
    assert len(prepared) == 1, [s.status for s in committed]
    written = {(topic, 0), (topic, 1)}
    assert written < prepared[0].partitions
    assert any(name == "__consumer_offsets" for name, _ in prepared[0].partitions), "its offsets are in it too"
    assert transaction_log.last_listing(states, prepared[0].producer_id, prepared[0].producer_epoch,
                                        (topic, 1)) == prepared[0]
    aborted = [s for s in states if s.transactional_id == aborted_id]
    assert "PrepareAbort" in {s.status for s in aborted}
    last = [transaction_log.last_listing(states, s.producer_id, s.producer_epoch, (topic, 0)) for s in aborted]
    assert {state.status for state in last if state is not None} == {"PrepareAbort"}
