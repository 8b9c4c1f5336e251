"""End hanging transactions on the local platform's brokers as their coordinators decided, found with Kafka's own
TransactionsCommand (``kafka-transactions.sh``, from the kafka-tools jar fetched with the broker's).

A transaction *hangs* when a partition holds its records but its coordinator will never finish it: the partition's
last stable offset stops there, and every read_committed reader of the partition (the stream processors, the
subscribers' connectors) waits forever, while a consumer group whose transactional offset commit is pending on
``__consumer_offsets`` can no longer read its committed offsets. Kafka 4.4 leaves one behind when a single broker
is killed while a transaction commits: on its restart the transaction coordinator sends the commit markers while
the partitions briefly have no leader (the unclean-shutdown fencing), takes them for deleted and skips them
("Couldn't find leader endpoint ... likely deleted already"), and records the transaction complete. Measured in
the scenario's broker kill: the profile builders could not get their committed offsets for minutes.

``find-hanging`` lists the transactions open on a broker's partitions for longer than a transaction may last
(at least a minute: the tool counts whole minutes) whose coordinator no longer knows them. What ends one
depends on what its coordinator had decided (``__transaction_state``, :mod:`govbus.platform.transaction_log`):
- it had decided to commit (``PrepareCommit``): the skipped commit marker is written
  (:mod:`govbus.platform.txn_markers`). Aborting would be a loss: the marker may already be on
  ``__consumer_offsets`` (the input counts as read) and the writer may have kept the records in its local state
  (measured: one event lost that way in a loaded single-broker kill, docs/scenario/README.md, "What the fault
  runs found", 11);
- it had not: ``abort`` writes the abort marker; the records go with their consumer offsets, and the processor
  reads its input again from its last committed offsets.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.platform import dev, kafka_tools, transaction_log, txn_markers
from govbus.settings import PlatformSettings

log = logging.getLogger(__name__)

TOOL = "org.apache.kafka.tools.TransactionsCommand"
MINUTES = 1
"""a transaction open longer than this many minutes is a candidate (the tool takes whole minutes; the platform's
processors set transaction.timeout.ms well under it)"""


@dataclass(frozen=True)
class HangingTransaction:
    topic: str
    partition: int
    producer_id: int
    producer_epoch: int
    start_offset: int
    minutes_open: int
    coordinator_epoch: int = -1


@dataclass(frozen=True)
class Sweep:
    aborted: list[HangingTransaction] = field(default_factory=list)
    committed: list[HangingTransaction] = field(default_factory=list)
    """their coordinator had decided to commit them: the missing commit marker written"""
    kept: list[HangingTransaction] = field(default_factory=list)
    """no decision found in the coordinators' log: left open"""


ABORT, COMMIT, KEEP = "abort", "commit", "keep"


def parse_hanging(output: str) -> list[HangingTransaction]:
    """The rows of ``find-hanging``'s table (a header line naming its columns, then one line per transaction)."""
    return [HangingTransaction(row["Topic"], int(row["Partition"]), int(row["ProducerId"]),
                               int(row.get("ProducerEpoch", "-1")), int(row["StartOffset"]),
                               int(row.get("Duration(min)", "0") or 0), int(row.get("CoordinatorEpoch", "-1")))
            for row in kafka_tools.parse_table(output, "Topic", "StartOffset")]


def _state(settings: PlatformSettings) -> dev.PlatformState:
    state = dev.load_state(settings)
    if state is None:
        raise PlatformError("the local platform is not running: start it with `govbus dev up`")
    return state


def _run_tool(settings: PlatformSettings, *args: str) -> str:
    state = _state(settings)
    return kafka_tools.run_tool(settings, TOOL, state.kafka_bootstrap,
                                kafka_tools.tool_properties(state.kafka, settings.dev_dir), *args,
                                what=f"kafka-transactions {args[0]}")


def _transaction_states(settings: PlatformSettings) -> list[transaction_log.TransactionState]:
    state = _state(settings)
    return transaction_log.read_states(settings, state.kafka_bootstrap,
                                       kafka_tools.tool_properties(state.kafka, settings.dev_dir))


def find_hanging(settings: PlatformSettings, node_id: int) -> list[HangingTransaction]:
    """The hanging transactions on node ``node_id``'s partitions."""
    return parse_hanging(_run_tool(settings, "find-hanging", "--broker-id", str(node_id),
                                   "--max-transaction-timeout", str(MINUTES)))


def abort(settings: PlatformSettings, hanging: HangingTransaction) -> None:
    """Write the abort marker of ``hanging`` (its partition's last stable offset moves past it)."""
    _run_tool(settings, "abort", "--topic", hanging.topic, "--partition", str(hanging.partition),
              "--start-offset", str(hanging.start_offset))
    log.warning("hanging transaction aborted", extra={"topic": hanging.topic, "partition": hanging.partition,
                                                      "producer_id": hanging.producer_id,
                                                      "start_offset": hanging.start_offset,
                                                      "minutes_open": hanging.minutes_open})


def decide(hanging: HangingTransaction, states: list[transaction_log.TransactionState]) -> str:
    """What the coordinator decided for the last transaction of the hanging one's producer on its partition
    (a transaction whose marker was written is not open there; a later one of the same producer and epoch would
    have joined the open one and its marker ends both, as it would have without the skip):

    - :data:`COMMIT` for ``PrepareCommit``: its records count as committed wherever else the marker landed
      (``__consumer_offsets`` among them), and the writer's local state may already hold them, so only the commit
      marker keeps it whole;
    - :data:`ABORT` for ``PrepareAbort`` or a transaction never prepared (``Ongoing``): its writer never saw a
      commit succeed, and reads its input again;
    - :data:`KEEP` when the log shows no record of it (not read to the end, or compacted away): neither marker is
      known to be right."""
    last = transaction_log.last_listing(states, hanging.producer_id, hanging.producer_epoch,
                                        (hanging.topic, hanging.partition))
    if last is None:
        return KEEP
    return COMMIT if last.status == "PrepareCommit" else ABORT


def commit(settings: PlatformSettings, hanging: HangingTransaction) -> None:
    """Write the missing commit marker of ``hanging`` to its partition's leader."""
    connection = _state(settings).kafka
    txn_markers.write_commit_marker(connection, _leader(connection, hanging.topic, hanging.partition),
                                   txn_markers.Marker(hanging.producer_id, hanging.producer_epoch,
                                                      hanging.coordinator_epoch, hanging.topic, hanging.partition))
    log.warning("hanging transaction committed: its coordinator had decided to commit it and skipped this "
                "partition's marker", extra={"topic": hanging.topic, "partition": hanging.partition,
                                             "producer_id": hanging.producer_id,
                                             "start_offset": hanging.start_offset})


def _leader(connection: KafkaConnection, topic: str, partition: int) -> str:
    metadata = clients.admin(connection).list_topics(topic, timeout=30)
    leader = metadata.topics[topic].partitions[partition].leader
    broker = metadata.brokers.get(leader)
    if broker is None:
        raise PlatformError(f"{topic}-{partition} has no leader now: run `govbus dev abort-hanging` again later")
    return f"{broker.host}:{broker.port}"


def _keep(hanging: HangingTransaction) -> None:
    log.error("hanging transaction left open: the coordinators' log (__transaction_state) shows no decision for it, "
              "so neither marker is known to be right; read_committed readers of this partition stay stopped at "
              "its start offset: run `govbus dev abort-hanging` again, or decide with `kafka-transactions`",
              extra={"topic": hanging.topic, "partition": hanging.partition, "producer_id": hanging.producer_id,
                     "producer_epoch": hanging.producer_epoch, "start_offset": hanging.start_offset})


def sweep(settings: PlatformSettings) -> Sweep:
    """Find the hanging transactions of every node of the platform and end each as its coordinator decided
    (:func:`decide`)."""
    # a node lists every partition it holds a replica of: on a cluster one transaction shows on each replica
    found = list({(h.topic, h.partition, h.producer_id, h.start_offset): h
                  for node_id in range(1, len(_state(settings).broker_pids) + 1)
                  for h in find_hanging(settings, node_id)}.values())
    if not found:
        return Sweep()
    states = _transaction_states(settings)
    result = Sweep()
    for hanging in found:
        action = decide(hanging, states)
        if action == COMMIT:
            commit(settings, hanging)
            result.committed.append(hanging)
        elif action == ABORT:
            abort(settings, hanging)
            result.aborted.append(hanging)
        else:
            _keep(hanging)
            result.kept.append(hanging)
    return result


def sweep_after_restart(settings: PlatformSettings, watch_seconds: float = 180.0,
                        every: float = 30.0, stopping: Callable[[], bool] = lambda: False) -> Sweep:
    """After a broker's restart: sweep every ``every`` seconds for ``watch_seconds`` (a transaction the restart
    left hanging shows once it has been open a whole minute); everything aborted, and everything kept."""
    total = Sweep()
    deadline = time.monotonic() + watch_seconds
    while time.monotonic() < deadline and not stopping():
        time.sleep(every)
        try:
            swept = sweep(settings)
        except (PlatformError, subprocess.TimeoutExpired) as error:  # the broker may be away again
            log.warning("hanging transactions not swept", extra={"error": str(error)[:300]})
            continue
        total.aborted.extend(swept.aborted)
        total.committed.extend(swept.committed)
        total.kept.extend(swept.kept)
    return total
