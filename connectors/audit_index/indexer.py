"""The audit indexer (`govbus run audit-indexer`): the audit topic kept in PostgreSQL, for `who-received` in
milliseconds however long the audit is.

On the sink runtime (:mod:`consumers.sink`), in the consumer group ``<prefix>.operator.audit-index`` (the
operator's principal may read the audit topic and join it): each batch of audit records is written to the
index in one transaction (:mod:`connectors.audit_index.store`), then its offsets are committed. A crash in
between writes the batch again, replacing its rows (they are keyed by offset), so nothing is indexed twice or
lost. A record that does not parse is stored as such (offset and why, never its content), logged and
counted, and the indexer goes on. Each record is also checked as the next of its connector's chain
(:class:`govbus.audit_verify.AuditVerifier`, resuming the chains it finds under way at its start, against
``GOVBUS_AUDIT_INDEX_PUBLIC_KEYS`` when set): a chain's first break is logged and counted in
``govbus_audit_chain_breaks_total{connector}`` (``govbus audit verify`` tells the whole story). While the
database is away the batch is tried again with a growing wait, the partitions paused; nothing is committed
meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from confluent_kafka import KafkaException
from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.audit_index.settings import AuditIndexSettings
from connectors.audit_index.store import AuditIndex, Indexed
from consumers.runtime import sink_options
from consumers.sink import BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.audit import Unparsable, parse_record
from govbus.audit_keys import load_verify_key
from govbus.audit_verify import AuditVerifier
from govbus.service import serve_until_stopped
from govbus.topic_names import audit_topic

log = logging.getLogger(__name__)
FIRST_RETRY_SECONDS = 0.5
TOPIC_CHECK_SECONDS = 2.0
"""how often the indexer looks for the audit topic until it exists (the first connector to deliver creates it)"""


def index_group(prefix: str) -> str:
    """The indexer's consumer group: under ``<prefix>.operator.``, which the operator's principal may join."""
    return f"{prefix}.operator.audit-index"


class AuditIndexer:
    """Keeps the audit index (see the module docstring); :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: AuditIndexSettings, collector: CollectorRegistry | None = None) -> None:
        assert settings.audit_index_dsn is not None, "checked by the settings"
        self._settings = settings
        self._topic = audit_topic(settings.topic_prefix)
        self._index = AuditIndex(settings.audit_index_dsn.get_secret_value(), self._topic)
        self._index.create()
        collector = collector or CollectorRegistry()
        self.indexed = Counter("govbus_audit_index_records", "Audit records indexed", registry=collector)
        self.unparsable = Counter("govbus_audit_index_unparsable", "Audit records that do not parse (stored as such)",
                                  registry=collector)
        self._lag = Gauge("govbus_audit_index_lag_records", "Audit records not indexed yet", registry=collector)
        self.chain_breaks = Counter("govbus_audit_chain_breaks", "Audit records that do not continue their "
                                    "connector's chain (each chain's first break)", ["connector"], registry=collector)
        keys = [load_verify_key(path) for path in settings.audit_index_public_keys]
        self._chains = AuditVerifier(keys, resume=True, check_signatures=bool(keys))
        self._checked: dict[int, int] = {}  # partition -> the last offset checked (a batch read again is not)
        self._stop = threading.Event()
        self._topic_seen = False
        self._topic_checked = 0.0
        overrides: dict[str, str | int | bool] = {"enable.partition.eof": False, "client.id": "govbus-audit-indexer"}
        consumer = clients.consumer(settings.kafka, index_group(settings.topic_prefix), sink_options(**overrides))
        options = SinkOptions("audit-index", settings.audit_index_batch_size, settings.audit_index_batch_wait,
                              BadMessages.STOP)
        self.runtime = SinkRuntime(consumer, self, options, SinkMetrics(collector), report_lag=self._report_lag)

    def topics(self) -> list[str]:
        """The audit topic once it exists (until then it is looked for every few seconds)."""
        if not self._topic_seen and time.monotonic() - self._topic_checked >= TOPIC_CHECK_SECONDS:
            first = not self._topic_checked
            self._topic_checked = time.monotonic()
            try:
                listed = self.runtime.consumer.list_topics(self._topic, timeout=10).topics.get(self._topic)
            except KafkaException as error:
                log.warning("cannot look for the audit topic yet", extra={"error": str(error)})
                return []
            self._topic_seen = listed is not None and listed.error is None and bool(listed.partitions)
            if first and not self._topic_seen:
                log.info("waiting for the audit topic: no subscriber connector has delivered yet",
                         extra={"topic": self._topic})
        return [self._topic] if self._topic_seen else []

    def stop(self) -> None:
        self._stop.set()
        self.runtime.stop()

    def run(self) -> None:
        """Index until :meth:`stop`; commit what is indexed on the way out."""
        log.info("audit indexer starting", extra={"settings": self._settings.redacted(), "topic": self._topic})
        try:
            self.runtime.run()
        finally:
            self._index.close()

    def handle(self, batch: Batch) -> None:
        """Write the batch to the index (tried again while the database is away)."""
        records: list[Indexed] = []
        unparsable: list[Unparsable] = []
        for message in batch.messages:
            parsed = parse_record(message)
            if isinstance(parsed, Unparsable):
                unparsable.append(parsed)
            else:
                records.append(Indexed(message.partition() or 0, message.offset() or 0, parsed))
        self._write(records, unparsable)
        self._check_chains(batch)
        self.indexed.inc(len(records))
        if unparsable:
            self.unparsable.inc(len(unparsable))
            log.warning("audit records that do not parse: stored as such; `govbus audit verify` lists them",
                        extra={"topic": self._topic, "count": len(unparsable),
                               "first": [f"{u.partition}@{u.offset}: {u.reason}" for u in unparsable[:5]]})

    def _check_chains(self, batch: Batch) -> None:
        """Each record not checked before as the next of its chain; a chain's first break counted and logged."""
        for message in batch.messages:
            partition, offset = message.partition() or 0, message.offset() or 0
            if offset <= self._checked.get(partition, -1):
                continue
            self._checked[partition] = offset
            broken = self._chains.add(partition, offset, message.value())
            if broken is not None and broken.broken is not None:
                self.chain_breaks.labels(broken.connector).inc()
                log.warning("an audit record breaks its chain; `govbus audit verify` shows the whole chain",
                            extra={"topic": self._topic, "partition": partition, "offset": offset,
                                   "chain": broken.chain, "connector": broken.connector,
                                   "subscription": broken.subscription, "problem": broken.broken.problem})

    def _write(self, records: list[Indexed], unparsable: list[Unparsable]) -> None:
        wait = FIRST_RETRY_SECONDS
        while True:
            try:
                self._index.write(records, unparsable)
                return
            except psycopg.OperationalError as error:
                if self._stop.is_set():
                    raise
                log.warning("the audit index's database did not answer; trying the batch again",
                            extra={"error": str(error).strip(), "wait_seconds": wait})
                self.runtime.wait_paused(wait)
                wait = min(wait * 2, self._settings.audit_index_retry_max_seconds)

    def _report_lag(self, lags: dict[str, int]) -> None:
        self._lag.set(sum(lags.values()))


def run_indexer(settings: AuditIndexSettings, registry: CollectorRegistry | None = None,
                handle_signals: bool = True) -> None:
    """Serve ``/metrics`` (if a port is set) and index until SIGTERM or SIGINT."""
    registry = registry or CollectorRegistry()
    indexer = AuditIndexer(settings, registry)
    serve_until_stopped(indexer, settings.audit_index_metrics_port, registry, handle_signals, settings.metrics_host)
