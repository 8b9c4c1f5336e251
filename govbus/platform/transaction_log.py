"""What the transaction coordinators decided: the ``__transaction_state`` topic read with Kafka's own console
consumer and its ``TransactionLogMessageFormatter`` (from the kafka-tools jar fetched with the broker's).

Each record is one state of one transactional id: its producer id and epoch, a status (``Ongoing``,
``PrepareCommit``, ``PrepareAbort``, ``CompleteCommit``, ``CompleteAbort``, ...) and the partitions of the open
transaction. A ``PrepareCommit`` record is the coordinator's decision to commit: from then on every one of those
partitions is owed a commit marker. :mod:`govbus.platform.hanging` reads it before it ends a hanging transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from govbus.platform.kafka_tools import run_tool
from govbus.settings import PlatformSettings

TOPIC = "__transaction_state"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
FORMATTER = "org.apache.kafka.tools.consumer.TransactionLogMessageFormatter"
IDLE_MS = 5000
"""the console consumer stops after this long without a record (it has read to the end)"""

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class TransactionState:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    status: str
    partitions: frozenset[TopicPartition]
    started_ms: int


def parse_states(output: str) -> list[TransactionState]:
    """The formatter's records (JSON objects one after another, with the tool's own log lines among them), in
    order; a record without a value (a tombstone of a removed transactional id) is left out."""
    decoder = json.JSONDecoder()
    states = []
    position = output.find('{"key"')
    while position != -1:
        try:
            record, end = decoder.raw_decode(output, position)
        except json.JSONDecodeError:
            position = output.find('{"key"', position + 1)
            continue
        position = output.find('{"key"', end)
        state = _state(record)
        if state is not None:
            states.append(state)
    return states


def _state(record: dict[str, object]) -> TransactionState | None:
    key, value = record.get("key"), record.get("value")
    if not isinstance(key, dict) or not isinstance(value, dict):
        return None
    data, key_data = value.get("data"), key.get("data")
    if not isinstance(data, dict) or not isinstance(key_data, dict):
        return None
    partitions = frozenset((str(entry["topic"]), int(partition))
                           for entry in data.get("transactionPartitions") or []
                           for partition in entry.get("partitionIds") or [])
    return TransactionState(str(key_data.get("transactionalId")), int(data["producerId"]),
                            int(data["producerEpoch"]), str(data["transactionStatus"]), partitions,
                            int(data.get("transactionStartTimestampMs", -1)))


def last_listing(states: Iterable[TransactionState], producer_id: int, producer_epoch: int,
                 partition: TopicPartition) -> TransactionState | None:
    """The producer's last record (at this epoch) that lists ``partition``: the state the coordinator left the
    last transaction on that partition in (``Ongoing``, ``PrepareCommit`` or ``PrepareAbort``; a completing
    record lists no partitions); None when the log holds none (not read to the end, or compacted away)."""
    found = None
    for state in states:
        if (state.producer_id, state.producer_epoch) == (producer_id, producer_epoch) and partition in state.partitions:
            found = state
    return found


def read_states(settings: PlatformSettings, bootstrap: str, client_config: Path) -> list[TransactionState]:
    """Every record of ``__transaction_state`` (read from the beginning as the platform's administrator)."""
    return parse_states(run_tool(settings, CONSOLE_CONSUMER, bootstrap, client_config, "--topic", TOPIC,
                                 "--from-beginning", "--formatter", FORMATTER, "--timeout-ms", str(IDLE_MS),
                                 what=f"reading {TOPIC}"))
