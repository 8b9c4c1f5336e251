"""The audit index's tables in PostgreSQL, how the indexer writes them, and how `govbus audit` asks them.

``govbus_audit_index``: one row per audit record, keyed by where it is on the topic (topic, partition,
offset), so a batch written again after a crash replaces itself; indexed by (topic, item, record key,
time) for ``who-received`` and (topic, subscriber, time) for ``deliveries``. The record itself is kept
as JSON (without its chain link: ``govbus audit verify`` checks chains on the topic, the source of truth).
``govbus_audit_unparsable``: where the records that do not parse are, and why (never their content).
``govbus_audit_index_progress``: per partition, the next offset to index and the time of the last record
indexed, so an answer can say how recent the index is. A batch's rows, unparsable records and progress are
written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from govbus.audit_record import AuditRecord, Outcome, Unparsable

SCHEMA = """
CREATE TABLE IF NOT EXISTS govbus_audit_index (
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    item text NOT NULL,
    record_key text NOT NULL,
    subscriber text NOT NULL,
    outcome text NOT NULL,
    at timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
CREATE INDEX IF NOT EXISTS govbus_audit_index_by_record ON govbus_audit_index (topic, item, record_key, at);
CREATE INDEX IF NOT EXISTS govbus_audit_index_by_subscriber ON govbus_audit_index (topic, subscriber, at);
CREATE TABLE IF NOT EXISTS govbus_audit_unparsable (
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    reason text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
CREATE TABLE IF NOT EXISTS govbus_audit_index_progress (
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset bigint NOT NULL,
    last_at timestamptz,
    PRIMARY KEY (topic, kafka_partition)
);
"""
COLUMNS = "topic, kafka_partition, kafka_offset, item, record_key, subscriber, outcome, at, record"
BY_RECORD = ("SELECT record FROM govbus_audit_index WHERE topic = %s AND item = %s AND record_key = %s "
             "AND outcome = ANY(%s) AND at >= %s ORDER BY at, kafka_partition, kafka_offset")
BY_SUBSCRIBER = ("SELECT record FROM govbus_audit_index WHERE topic = %s AND subscriber = %s "
                 "AND outcome = ANY(%s) AND at >= %s ORDER BY at, kafka_partition, kafka_offset")


@dataclass(frozen=True)
class Indexed:
    """An audit record and where it is on the topic."""

    partition: int
    offset: int
    record: AuditRecord


@dataclass(frozen=True)
class Freshness:
    """How recent the index is: the time of the last record indexed, and how many records did not parse."""

    last_at: dt.datetime | None
    unparsable: int


class AuditIndex:
    """The index in the database ``dsn`` (a password in it is never printed)."""

    def __init__(self, dsn: str, topic: str) -> None:
        self._dsn = dsn
        self.topic = topic
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._dsn, autocommit=True, application_name="govbus-audit-index")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def create(self) -> None:
        """The tables and indexes, unless they exist."""
        connection = self._connect()
        with connection.transaction():
            connection.execute(SCHEMA)

    # -- writing (the indexer) ---------------------------------------------------------------------------

    def write(self, records: Sequence[Indexed], unparsable: Sequence[Unparsable] = ()) -> None:
        """Store one batch in one transaction; what a batch written before already stored is replaced."""
        connection = self._connect()
        try:
            with connection.transaction(), connection.cursor() as cursor:
                for partition, (low, high) in _spans((r.partition, r.offset) for r in records).items():
                    cursor.execute("DELETE FROM govbus_audit_index WHERE topic = %s AND kafka_partition = %s "
                                   "AND kafka_offset BETWEEN %s AND %s", (self.topic, partition, low, high))
                with cursor.copy(f"COPY govbus_audit_index ({COLUMNS}) FROM STDIN") as copy:
                    for r in records:
                        copy.write_row(_row(self.topic, r))
                cursor.executemany(
                    "INSERT INTO govbus_audit_unparsable (topic, kafka_partition, kafka_offset, reason) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(self.topic, u.partition, u.offset, u.reason) for u in unparsable])
                self._advance(cursor, records, unparsable)
        except BaseException:
            if connection.closed or connection.broken:
                self.close()
            raise

    def _advance(self, cursor: psycopg.Cursor[tuple[object, ...]], records: Sequence[Indexed],
                 unparsable: Sequence[Unparsable]) -> None:
        ends: dict[int, tuple[int, dt.datetime | None]] = {}
        for r in records:
            offset, at = ends.get(r.partition, (-1, None))
            ends[r.partition] = (max(offset, r.offset), max(at, r.record.at) if at else r.record.at)
        for u in unparsable:
            offset, at = ends.get(u.partition, (-1, None))
            ends[u.partition] = (max(offset, u.offset), at)
        cursor.executemany(
            "INSERT INTO govbus_audit_index_progress AS p (topic, kafka_partition, next_offset, last_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (topic, kafka_partition) DO UPDATE SET "
            "next_offset = greatest(p.next_offset, excluded.next_offset), "
            "last_at = greatest(p.last_at, excluded.last_at)",
            [(self.topic, partition, offset + 1, at) for partition, (offset, at) in ends.items()])

    # -- asking (`govbus audit`) -------------------------------------------------------------------------

    def who_received(self, item: str, record_key: str, outcomes: Iterable[Outcome] = (Outcome.DELIVERED,),
                     since: dt.datetime | None = None) -> list[AuditRecord]:
        """Records of ``item``'s record ``record_key`` with one of ``outcomes``, oldest first."""
        return self._records(BY_RECORD, (item, record_key), outcomes, since)

    def deliveries_to(self, subscriber: str, since: dt.datetime,
                      outcomes: Iterable[Outcome] = tuple(Outcome)) -> list[AuditRecord]:
        """Records of ``subscriber`` with one of ``outcomes`` at or after ``since``, oldest first."""
        return self._records(BY_SUBSCRIBER, (subscriber,), outcomes, since)

    def _records(self, query: str, values: tuple[str, ...], outcomes: Iterable[Outcome],
                 since: dt.datetime | None) -> list[AuditRecord]:
        start = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        with self._connect().cursor() as cursor:
            cursor.execute(query, (self.topic, *storable(list(values)), [o.value for o in outcomes], start))
            return [AuditRecord.model_validate(row[0]) for row in cursor.fetchall()]

    def freshness(self) -> Freshness:
        """How much of the topic the index holds (:class:`Freshness`)."""
        with self._connect().cursor() as cursor:
            cursor.execute("SELECT max(last_at), (SELECT count(*) FROM govbus_audit_unparsable WHERE topic = %s) "
                           "FROM govbus_audit_index_progress WHERE topic = %s", (self.topic, self.topic))
            last_at, unparsable = cursor.fetchone() or (None, 0)
        return Freshness(last_at if isinstance(last_at, dt.datetime) else None, int(str(unparsable or 0)))


def _row(topic: str, indexed: Indexed) -> tuple[object, ...]:
    """The index row of ``indexed``, made storable (:func:`storable`) only when it holds a NUL (a rare record)."""
    record = indexed.record
    document = record.model_dump(mode="json", exclude={"link"})
    text = json.dumps(document, ensure_ascii=False)
    if "\\u0000" in text:  # how json.dumps writes a NUL
        document = storable(document)
        text = json.dumps(document, ensure_ascii=False)
    return (topic, indexed.partition, indexed.offset, document["item"], document["record_key"], document["subscriber"],
            record.outcome.value, record.at, text)


def storable(value: Any) -> Any:
    """``value`` (JSON) with every NUL character replaced by U+FFFD: PostgreSQL stores none in ``text`` or ``jsonb``,
    and one hostile record key must not stop the indexer."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def _spans(positions: Iterable[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Per partition, the lowest and highest offset among ``positions``."""
    spans: dict[int, tuple[int, int]] = {}
    for partition, offset in positions:
        low, high = spans.get(partition, (offset, offset))
        spans[partition] = (min(low, offset), max(high, offset))
    return spans
