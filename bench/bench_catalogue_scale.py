"""The catalogue at 500 items: time and memory of each platform step at the real size, 100 and 500 items, and growth.

    .venv/bin/python -m bench.bench_catalogue_scale [--sizes 16,100,500] [--repeat 2] [--records 20]
                                                    [--partitions 1] [--timeout 900] [--json FILE] [--markdown FILE]
    .venv/bin/python -m bench.bench_catalogue_scale --report FILE.json [--markdown FILE]   # the table again

The policy texts speak of about 500 shared data items from 40 vertical systems. For each size (the first, by
default the real catalogue's count, is the baseline), a catalogue is generated from the real items
(:mod:`bench.scenario.catalogue_gen`) and, under a topic prefix of its own, goes through:

1. **topics**: ``sync_topics`` creates each item's department, canonical and dead-letter topics;
2. **schemas**: ``SchemaSync`` sets the level of and registers each item's event schema;
3. **acl**: as a platform is provisioned (:func:`govbus.platform.provisioning.provision_principals`: a SCRAM user
   per department, the operator, the processors, the feed, one subscriber and its subscription's connector;
   static ACLs; grants topics), then the declarations (each conditional item's grant, approved by its department,
   and one subscription asking for every field of every shareable item, delivered by Kafka), then the ACL
   reconciler's first pass (:func:`govbus.sharing.acl_sync.plan` and ``apply``: what it adds) and a second pass
   (what ``govbus run acl`` costs every 2 s once nothing changes);
4. **normaliser**: ``--records`` synthetic records per item (``records_for`` of the real item each copy was made
   from, 10 % invalid where the item has a checked identifier, from the system the register names) are published
   to the department topics; then the real normaliser (``python -m streams.normaliser``, exactly-once,
   deduplication on, as deployed, as the administrator) starts on every item: the time from its start to its first
   record, and until every record is counted canonical or dead letter on its /metrics; every record is then
   accounted for by reading the canonical and dead-letter topics;
5. **delivery**: the Kafka delivery connector (``python -m connectors.kafka_delivery``) of that subscription,
   as its own principal with only the ACLs the reconciler gave it: the time from its start until every valid
   record of a shareable item is on the delivery topic; the delivered event ids are checked.

Steps 1 to 3 each run in a fresh Python process (``--step``): the figures are the step's own time (after the
process loaded the catalogue, which is timed too) and the process's peak RSS. The normaliser's and the
connector's peak RSS is their ``VmHWM``. A stage that has not finished after ``--timeout`` seconds is stopped and
recorded with how far it got (``>900`` in the table). Each size's topics, changelogs and ACLs are deleted before
the next size (its registry subjects too when GOVBUS_REGISTRY__URL names a registry of yours; the registry the
benchmark starts goes with it). The sizes are run in turn, ``--repeat`` times; the table prints medians with every
round's figure in brackets and each median's ratio to the baseline's, measured in the same run (2 noisy cores
shared with the broker: compare ratios, not seconds, and run it more than once). ``--json`` writes every figure
(after each size, so an interrupted run keeps what it measured), ``--markdown`` the page of
:func:`scale_page` (the command, :func:`scale_markdown`'s table and every record's accounting). Starts and stops
(by PID) a local broker and registry unless GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set. What the
figures say (where it breaks and why): ``docs/scenario/catalogue-scale.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AclBinding, AclBindingFilter

from bench._platform import delete_topics, platform
from bench._workers import scrape
from bench.scenario.catalogue_gen import generate_catalogue, item_systems, shape_of
from govbus import clients, identities
from govbus.catalogue_topics import sync_topics
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.demo.synthetic_items import records_for
from govbus.envelope import ChangeEvent
from govbus.exceptions import GovbusError
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.platform.provisioning import provision_principals
from govbus.serde import WireEncoder
from govbus.settings import ClientSettings
from govbus.sharing.acl_sync import ANY_ACL, apply, broker_acls, plan
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import TopicSettings, delivery_topic, value_subject
from govbus.topic_reader import read_prefixed
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import Catalogue, DataItem, SharingClass, load_catalogue
from schemas.catalogue.sync import SchemaSync
from testsupport.connections import kafka_at, registry_at

SUBSCRIBER, SUBSCRIPTION = "scale-centre", "scale-all"
STEPS = ("topics", "schemas", "acl")
INVALID_SHARE = 0.1
NORMALISER_APP = "scale-normaliser"
MIB = 1024 * 1024
POLL = 0.25


# ---------------------------------------------------------------------------------------------- one size's run


@dataclass(frozen=True)
class ScaleRun:
    """One size's platform: the administrator's connections, its own topic prefix and catalogue directory."""

    kafka: KafkaConnection
    registry: RegistryConnection
    prefix: str
    catalogue_dir: Path
    directory: Path
    partitions: int

    @property
    def credentials(self) -> Path:
        return self.directory / "credentials.json"

    @property
    def app_id(self) -> str:
        return f"{NORMALISER_APP}-{self.prefix.rsplit('.', 1)[-1]}"

    def env(self) -> dict[str, str]:
        """What every process of the run is started with: the broker as its administrator (GOVBUS_KAFKA__*), the
        registry, the topic prefix and the generated catalogue."""
        registry = {"GOVBUS_REGISTRY__URL": self.registry.url}
        if self.registry.username and self.registry.password:
            registry |= {"GOVBUS_REGISTRY__USERNAME": self.registry.username,
                         "GOVBUS_REGISTRY__PASSWORD": self.registry.password.get_secret_value()}
        return {**self.kafka.as_env(), **registry, "GOVBUS_CATALOGUE_DIR": str(self.catalogue_dir),
                "GOVBUS_TOPIC_PREFIX": self.prefix, "GOVBUS_LOG_LEVEL": os.environ.get("GOVBUS_LOG_LEVEL", "WARNING")}


def new_run(kafka: KafkaConnection, registry: RegistryConnection, size: int, partitions: int, seed: int,
            directory: Path) -> ScaleRun:
    """A catalogue of ``size`` items generated in ``directory``, under a fresh topic prefix."""
    catalogue_dir = generate_catalogue(size, directory / "catalogue", seed)
    prefix = f"govbus.scale-{uuid.uuid4().hex[:8]}"
    return ScaleRun(kafka, registry, prefix, catalogue_dir, directory, partitions)


# ------------------------------------------------------------------------------- steps 1-3, each in a process


def run_step(run: ScaleRun, step: str, timeout: float = 1800) -> dict[str, Any]:
    """``python -m bench.bench_catalogue_scale --step STEP`` for ``run``: what it printed (JSON)."""
    argv = [sys.executable, "-m", "bench.bench_catalogue_scale", "--step", step, "--partitions",
            str(run.partitions), "--credentials", str(run.credentials)]
    done = subprocess.run(argv, env={**os.environ, **run.env()}, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"step {step} failed ({done.returncode}): {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def step_main(step: str, partitions: int, credentials: Path) -> None:
    """In the step's process: load the catalogue (timed), do the step (timed), print the figures as one JSON line."""
    settings = ClientSettings()
    started = time.perf_counter()
    catalogue = load_catalogue()
    figures: dict[str, Any] = {"load_s": time.perf_counter() - started, "items": len(catalogue)}
    rss_loaded = _peak_rss_self()
    figures |= do_step(step, settings.kafka, settings.registry, TopicSettings().topic_prefix, partitions, credentials)
    figures |= {"rss_loaded_bytes": rss_loaded, "peak_rss_bytes": _peak_rss_self()}
    print(json.dumps(figures))


def do_step(step: str, admin: KafkaConnection, registry: RegistryConnection, prefix: str, partitions: int,
            credentials: Path) -> dict[str, Any]:
    """One of :data:`STEPS` on the catalogue GOVBUS_CATALOGUE_DIR names, under ``prefix``; its figures."""
    catalogue = load_catalogue()
    if step == "topics":
        return _timed("s", lambda: {"topics": len(sync_topics(admin, catalogue.items(), prefix, partitions))})
    if step == "schemas":
        return _timed("s", lambda: _sync_schemas(registry, prefix, catalogue))
    return acl_step(admin, prefix, catalogue, credentials)


def _timed(name: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    figures = work()
    return {name: time.perf_counter() - started, **figures}


def _sync_schemas(registry: RegistryConnection, prefix: str, catalogue: Catalogue) -> dict[str, Any]:
    report = SchemaSync(registry, prefix).sync(catalogue.items())
    if not report.ok:
        raise RuntimeError(f"schema sync refused {[r.item for r in report.refused]}")
    return {"subjects": len(report.results)}


def acl_step(admin: KafkaConnection, prefix: str, catalogue: Catalogue, credentials: Path) -> dict[str, Any]:
    """Provision the platform, declare the grants and the subscription, reconcile twice; each part timed."""
    extra = [identities.principal_key("subscriber", SUBSCRIBER), identities.principal_key("connector", SUBSCRIPTION)]
    figures = _timed("provision_s", lambda: {"principals": len(provision_principals(admin, credentials, extra))})
    figures |= _timed("declare_s", lambda: declare(admin, prefix, catalogue))
    figures |= _timed("reconcile_s", lambda: _reconciled(admin, prefix))
    steady = _timed("steady_s", lambda: _reconciled(admin, prefix))
    figures |= {"steady_s": steady["steady_s"], "steady_changes": steady["added"] + steady["deleted"],
                "bindings": sum(1 for b in broker_acls(admin) if b.name.startswith(prefix))}
    return figures


def _reconciled(admin: KafkaConnection, prefix: str) -> dict[str, Any]:
    diff = plan(admin, prefix)
    apply(admin, diff)
    return {"added": len(diff.add), "deleted": len(diff.delete)}


def declare(admin: KafkaConnection, prefix: str, catalogue: Catalogue) -> dict[str, Any]:
    """Each conditional item's grant (written to its department's grants topic) and the subscription to every
    field of every shareable item (to the subscriber's topic), as the administrator."""
    store = SharingStore(admin, prefix)
    grants = [grant_for(item) for item in catalogue if item.sharing_class is SharingClass.CONDITIONAL]
    for grant in grants:
        store.put_grant(grant)
    store.put_subscription(subscription_for(catalogue))
    return {"grants": len(grants)}


def shareable(catalogue: Catalogue) -> list[DataItem]:
    return [item for item in catalogue if item.sharing_class is not SharingClass.NOT_SHARED]


def all_fields(item: DataItem) -> list[str]:
    return [f["name"] for f in item.record_schema["fields"]]


def grant_for(item: DataItem) -> Grant:
    return Grant(grant_id=f"scale-{item.name}", subscriber=SUBSCRIBER, item=item.name, approved_by=item.department,
                 purpose="the catalogue scale benchmark", fields=all_fields(item),
                 expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))


def subscription_for(catalogue: Catalogue) -> Subscription:
    return Subscription.model_validate({
        "name": SUBSCRIPTION, "subscriber": SUBSCRIBER, "delivery": {"kind": "kafka"},
        "items": [{"item": item.name, "fields": all_fields(item)} for item in shareable(catalogue)]})


def _peak_rss_self() -> int:
    """This process's peak RSS. Not ``getrusage``'s ``ru_maxrss``: Linux keeps it across ``exec``, so a step's
    process would report the benchmark's own peak from before it was exec'd."""
    return peak_rss(os.getpid())


# ------------------------------------------------------------------------------------------ step 4: normaliser


@dataclass
class Published:
    """Event ids of the published records by what should become of them."""

    canonical: dict[str, set[str]] = field(default_factory=dict)
    dead: dict[str, set[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(map(len, self.canonical.values())) + sum(map(len, self.dead.values()))

    def delivered(self, catalogue: Catalogue) -> set[str]:
        """Every canonical event of a shareable item: what the subscription receives."""
        return {event for item in shareable(catalogue) for event in self.canonical.get(item.name, set())}


def publish(run: ScaleRun, catalogue: Catalogue, per_item: int, seed: int) -> Published:
    """``per_item`` records of every item on its department topic, from the system the register names."""
    started = time.perf_counter()
    registry = clients.registry_client(run.registry)
    systems = item_systems(run.catalogue_dir)
    producer = clients.producer(run.kafka, {"linger.ms": 5, "compression.type": "lz4"})
    published = Published()
    for number, item in enumerate(catalogue):
        topic = item.topics(run.prefix).department
        encoder = WireEncoder(registry, value_subject(topic), item.event_schema())
        samples = records_for(catalogue.get(shape_of(item)), per_item, INVALID_SHARE, seed=seed + number)
        for sample in samples:
            record = sample.record if sample.broken_rule else item.validate(sample.record)
            event = ChangeEvent(data_item=item.name, department=item.department, source_system=systems[item.name],
                                record_key=item.key_of(record), occurred_at=dt.datetime.now(dt.UTC), record=record)
            (published.dead if sample.broken_rule else published.canonical).setdefault(item.name, set()).add(
                str(event.event_id))
            _produce(producer, topic, event.record_key.encode(), encoder.encode(event.to_avro()))
    if producer.flush(120):
        raise RuntimeError("the broker did not acknowledge every record in 120 s")
    published.seconds = time.perf_counter() - started
    return published


def _produce(producer: Any, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.05)


@dataclass
class Process:
    """A component run by a stage: when it started, its first and last awaited moments, its peak RSS."""

    component: Component
    started: float
    first_s: float | None = None
    done_s: float | None = None
    finished: int = 0
    peak_rss_bytes: int = 0

    def figures(self) -> dict[str, Any]:
        """``s`` is None when it did not finish in time (``finished`` says how far it got)."""
        return {"first_s": self.first_s, "s": self.done_s, "finished": self.finished,
                "peak_rss_bytes": self.peak_rss_bytes}


@contextmanager
def component(name: str, module: str, env: dict[str, str], directory: Path) -> Iterator[Process]:
    """``python -m module`` with ``env``; its peak RSS read just before it is stopped (by PID)."""
    process = Process(start_component(name, module, env, directory / f"{name}.log"), time.perf_counter())
    try:
        yield process
    finally:
        process.peak_rss_bytes = peak_rss(process.component.pid)
        process.component.stop(timeout=30)


def peak_rss(pid: int) -> int:
    """The process's peak resident set (``VmHWM``) in bytes; 0 once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith("VmHWM:")), 0)


def await_progress(process: Process, progress: Callable[[], tuple[int, int]], want: int, timeout: float) -> bool:
    """Poll ``progress`` (started, finished) until ``want`` are finished or ``timeout`` s passed (then False: how
    far it got is in ``process.finished``); note the first and the last moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        begun, process.finished = progress()
        now = time.perf_counter() - process.started
        if begun and process.first_s is None:
            process.first_s = now
        if process.finished >= want:
            process.done_s = now
            return True
        if not process.component.alive():
            raise RuntimeError(f"{process.component.name} exited; see {process.component.log_path}")
        time.sleep(POLL)
    print(f"    {process.component.name} finished {process.finished} of {want} in {timeout:.0f} s; see "
          f"{process.component.log_path}", flush=True)
    return False


def normalise(run: ScaleRun, catalogue: Catalogue, want: int, timeout: float) -> dict[str, Any]:
    """The normaliser on every item until it counted ``want`` records canonical or dead-lettered; the broker's
    size while it runs."""
    port = free_port()
    env = {**run.env(), "GOVBUS_NORMALISER_ITEMS": ",".join(catalogue.names()), "GOVBUS_NORMALISER_APP_ID": run.app_id,
           "GOVBUS_NORMALISER_PARTITIONS": str(run.partitions), "GOVBUS_NORMALISER_METRICS_PORT": str(port),
           "GOVBUS_STREAMS_STATE_DIR": str(run.directory / "state")}

    def progress() -> tuple[int, int]:
        sums = scrape(port)
        done = sums.get("govbus_normaliser_records_canonical_total", 0) + sums.get(
            "govbus_normaliser_records_rejected_total", 0)
        return int(sums.get("govbus_normaliser_records_processed_total", 0)), int(done)

    with component("normaliser", "streams.normaliser", env, run.directory) as process:
        await_progress(process, progress, want, timeout)
        size = broker_size(run.kafka)
    return process.figures() | size


def broker_size(kafka: KafkaConnection) -> dict[str, int]:
    """Topics and partitions the broker holds now (the internal ones included)."""
    topics = clients.admin(kafka).list_topics(timeout=30).topics
    return {"broker_topics": len(topics), "broker_partitions": sum(len(t.partitions) for t in topics.values())}


@dataclass(frozen=True)
class Accounting:
    """Each record's fate against what was expected of it."""

    expected: int
    held: int
    lost: int
    duplicated: int
    unexpected: int

    @classmethod
    def of(cls, expected: set[str], seen: list[str]) -> Accounting:
        held = set(seen)
        return cls(len(expected), len(seen), len(expected - held), len(seen) - len(held), len(held - expected))

    def as_dict(self) -> dict[str, int]:
        return {"expected": self.expected, "held": self.held, "lost": self.lost, "duplicated": self.duplicated,
                "unexpected": self.unexpected}


def normalised_accounting(run: ScaleRun, published: Published) -> dict[str, Accounting]:
    """The canonical and dead-letter topics read whole (read_committed): each record once where expected."""
    canonical = _header_values(read_prefixed(run.kafka, f"{run.prefix}.canonical."), "ce_id")
    dead = _header_values(read_prefixed(run.kafka, f"{run.prefix}.dead-letter."), "govbus.dlq.event_id")
    return {"canonical": Accounting.of(set().union(*published.canonical.values()), canonical),
            "dead_letter": Accounting.of(set().union(*published.dead.values()), dead)}


def _header_values(read: dict[str, list[Any]], header: str) -> list[str]:
    values = []
    for messages in read.values():
        for message in messages:
            found = dict(message.headers() or []).get(header)
            values.append(found.decode() if found is not None else "")
    return values


# -------------------------------------------------------------------------------------------- step 5: delivery


def deliver(run: ScaleRun, want: int, timeout: float) -> tuple[dict[str, Any], list[str]]:
    """The subscription's Kafka delivery connector, as its own principal, until ``want`` events are on its topic
    (or ``timeout`` s passed); the figures and the event ids on the topic."""
    found = json.loads(run.credentials.read_text(encoding="utf-8"))[identities.principal_key("connector",
                                                                                              SUBSCRIPTION)]
    env = {**run.env(), **run.kafka.with_credentials(found["username"], found["password"]).as_env(),
           "GOVBUS_KAFKA_DELIVERY_SUBSCRIPTION": SUBSCRIPTION, "GOVBUS_KAFKA_DELIVERY_METRICS_PORT": str(free_port()),
           "GOVBUS_PSEUDONYM_KEY": secrets.token_urlsafe(32)}
    topic = delivery_topic(SUBSCRIBER, SUBSCRIPTION, run.prefix)
    with component("kafka-delivery", "connectors.kafka_delivery", env, run.directory) as process, \
            TopicCount(run.kafka, topic) as written:
        if await_progress(process, written.count, want, timeout):
            time.sleep(1.0)  # anything more it would write (a repeat, an unexpected event) is counted too
    ids = _header_values(read_prefixed(run.kafka, topic), "govbus.event_id")
    return process.figures(), ids


class TopicCount:
    """Records on a topic, from its partitions' watermarks (0 while it does not exist): the delivery connector's
    producer is not transactional, so offsets are records. One consumer for every look."""

    def __init__(self, kafka: KafkaConnection, topic: str) -> None:
        self._topic = topic
        self._last = 0
        self._consumer = clients.consumer(kafka, f"scale-watch-{uuid.uuid4().hex[:8]}", {"enable.auto.commit": False})

    def __enter__(self) -> TopicCount:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._consumer.close()

    def count(self) -> tuple[int, int]:
        """(records, records); the last count while the broker cannot tell (a partition without a leader yet)."""
        try:
            listed = self._consumer.list_topics(self._topic, timeout=10).topics.get(self._topic)
            if listed is None or listed.error is not None:
                return 0, 0
            total = sum(high - low for low, high in (
                self._consumer.get_watermark_offsets(TopicPartition(self._topic, partition), timeout=10)
                for partition in listed.partitions))
        except KafkaException:
            return self._last, self._last
        self._last = total
        return total, total


def warm_up(kafka: KafkaConnection) -> None:
    """Make the broker create its transaction-state and consumer-offsets topics now, so that the first size of the
    first round does not pay for them."""
    topic = f"govbus.scale-warm-{uuid.uuid4().hex[:6]}"
    ensure_topics(kafka, [TopicSpec(topic, 1)])
    producer = clients.producer(kafka, {"transactional.id": f"{topic}-tx"})
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce(topic, value=b"warm")
    producer.commit_transaction(60)
    consumer = clients.consumer(kafka, f"{topic}-group", {"enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    consumer.close()
    delete_topics(kafka.bootstrap, [topic])


# ---------------------------------------------------------------------------------------------- cleaning up


def clean(run: ScaleRun, subjects: bool) -> dict[str, int]:
    """Delete the run's topics (changelogs included) and ACLs, and its registry subjects if ``subjects`` (on the
    registry the benchmark started they go with it: a registry write takes 0.2 s, 4 per item)."""
    return {"topics": delete_topics(run.kafka.bootstrap, [run.prefix, run.app_id]),
            "acls": _delete_acls(run.kafka, run.prefix),
            "subjects": _delete_subjects(run.registry, run.prefix) if subjects else 0}


def _delete_acls(kafka: KafkaConnection, prefix: str) -> int:
    admin = clients.admin(kafka)
    held = admin.describe_acls(ANY_ACL, request_timeout=30).result(timeout=30)
    mine: list[AclBinding] = [b for b in held if b.name and b.name.startswith(prefix)]
    filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                b.permission_type) for b in mine]
    for future in (admin.delete_acls(filters, request_timeout=60) if filters else {}).values():
        future.result(timeout=60)
    return len(mine)


def _delete_subjects(registry: RegistryConnection, prefix: str) -> int:
    client = clients.registry_client(registry)
    subjects = [s for s in client.get_subjects() if s.startswith(prefix)]
    for subject in subjects:
        client.delete_subject(subject)
        client.delete_subject(subject, permanent=True)
    return len(subjects)


# ------------------------------------------------------------------------------------------------ one size


def measure_size(kafka: KafkaConnection, registry: RegistryConnection, size: int, args: argparse.Namespace,
                 ) -> dict[str, Any]:
    """Every step at ``size`` items; the figures of each, and every record accounted for."""
    directory = Path(tempfile.mkdtemp(prefix=f"govbus-scale-{size}-"))
    run = new_run(kafka, registry, size, args.partitions, args.seed, directory)
    catalogue = load_catalogue(run.catalogue_dir)
    figures: dict[str, Any] = {"items": len(catalogue), "shareable": len(shareable(catalogue)), "prefix": run.prefix}
    try:
        for step in STEPS:
            figures[step] = run_step(run, step)
            print(f"    {size} items, {step}: {_brief(figures[step])}", flush=True)
        published = publish(run, catalogue, args.records, args.seed)
        figures["publish"] = {"s": published.seconds, "records": published.total}
        figures["normaliser"] = normalise(run, catalogue, published.total, args.timeout) | {
            "records": published.total}
        figures["normaliser"]["accounting"] = {k: v.as_dict() for k, v in normalised_accounting(run, published).items()}
        print(f"    {size} items, normaliser: {_brief(figures['normaliser'])}", flush=True)
        expected = published.delivered(catalogue)
        delivery, ids = deliver(run, len(expected), args.timeout)
        figures["delivery"] = delivery | {"records": len(expected),
                                          "accounting": Accounting.of(expected, ids).as_dict()}
        print(f"    {size} items, delivery: {_brief(figures['delivery'])}", flush=True)
    finally:
        figures["deleted"] = clean(run, subjects=bool(os.environ.get("GOVBUS_REGISTRY__URL")))
    return figures


def _brief(figures: dict[str, Any]) -> str:
    shown = []
    for name, value in figures.items():
        if isinstance(value, float):
            shown.append(f"{name} {value:.2f}")
        elif name.endswith("bytes") and isinstance(value, int):
            shown.append(f"{name[:-6]} {value / MIB:.0f} MiB")
        elif isinstance(value, (int, str)):
            shown.append(f"{name} {value}")
        elif isinstance(value, dict):
            shown.append(f"{name} {value}")
    return ", ".join(shown)


# ------------------------------------------------------------------------------------------------ the report

RATE = "records_per_s"
"""A column computed from a stage's figures: records over the time from its first to its last one."""
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("catalogue load (s)", "topics", "load_s"),
    ("topic sync (s)", "topics", "s"),
    ("topic sync RSS (MiB)", "topics", "peak_rss_bytes"),
    ("schema sync (s)", "schemas", "s"),
    ("schema sync RSS (MiB)", "schemas", "peak_rss_bytes"),
    ("ACL provision (s)", "acl", "provision_s"),
    ("grants + subscription (s)", "acl", "declare_s"),
    ("ACL first pass (s)", "acl", "reconcile_s"),
    ("ACL steady pass (s)", "acl", "steady_s"),
    ("ACL RSS (MiB)", "acl", "peak_rss_bytes"),
    ("ACL bindings", "acl", "bindings"),
    ("normaliser to first record (s)", "normaliser", "first_s"),
    ("normaliser to all records (s)", "normaliser", "s"),
    ("normaliser records/s, first to last", "normaliser", RATE),
    ("normaliser RSS (MiB)", "normaliser", "peak_rss_bytes"),
    ("broker partitions", "normaliser", "broker_partitions"),
    ("delivery to first event (s)", "delivery", "first_s"),
    ("delivery to all events (s)", "delivery", "s"),
    ("delivery events/s, first to last", "delivery", RATE),
    ("delivery RSS (MiB)", "delivery", "peak_rss_bytes"),
)
UNFINISHED = math.inf
"""A stage that did not finish within the timeout, in a column of seconds."""


def column_values(results: dict[str, Any], size: str, stage: str, name: str) -> list[float]:
    """Every round's figure of one column at one size (RSS in MiB; :data:`UNFINISHED` for a stage that ran out of
    time, a round without the stage left out)."""
    values = []
    for round_ in results["rounds"]:
        figures = round_.get(size, {}).get(stage)
        if figures is None or (name not in figures and name != RATE):
            continue
        value = _rate(figures, results.get("timeout", 0)) if name == RATE else figures[name]
        values.append(UNFINISHED if value is None else float(value) / (MIB if name.endswith("bytes") else 1))
    return values


def _rate(figures: dict[str, Any], timeout: float) -> float | None:
    """Records a second from a stage's first record to its last (to its timeout, for the ones it finished, when it
    ran out of time); None when it never began."""
    if figures.get("first_s") is None:
        return None
    if figures.get("s") is None:
        return float(figures.get("finished", 0)) / max(timeout - float(figures["first_s"]), POLL)
    return float(figures["records"]) / max(float(figures["s"]) - float(figures["first_s"]), POLL)


def summary(results: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Per column: per size, the median, every round in brackets and the median's ratio to the baseline's."""
    sizes = [str(s) for s in results["sizes"]]
    rows = []
    for label, stage, name in COLUMNS:
        values = {s: column_values(results, s, stage, name) for s in sizes}
        medians = {s: statistics.median(v) if v else math.nan for s, v in values.items()}
        base = medians[sizes[0]]
        rows.append((label, [_cell(medians[s], values[s], medians[s] / base if base else math.nan,
                                   results.get("timeout", 0)) for s in sizes]))
    return rows


def _cell(median: float, values: list[float], ratio: float, timeout: float) -> str:
    if not values:
        return "-"
    finite = [v for v in values if math.isfinite(v)]
    fmt = ".1f" if max(finite, default=0) < 100 else ",.0f"
    shown = "(" + ", ".join(f"{v:{fmt}}" if math.isfinite(v) else f">{timeout:.0f}" for v in values) + ")"
    if not math.isfinite(median):
        return f">{timeout:.0f} {shown}"
    return f"{median:{fmt}} {shown} x{ratio:.1f}" if ratio >= 0.1 else f"{median:{fmt}} {shown} x{ratio:.2g}"


def accounting_lines(results: dict[str, Any]) -> list[str]:
    """Per size, round and stage: every record accounted for (expected, held, lost, duplicated, unexpected)."""
    lines = []
    for number, round_ in enumerate(results["rounds"], start=1):
        for size, figures in round_.items():
            for stage in ("normaliser", "delivery"):
                accounting = figures.get(stage, {}).get("accounting")
                if accounting:
                    lines.append(f"round {number}, {size} items, {stage}: {json.dumps(accounting)}")
    return lines


def print_table(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    print(f"medians of {results['repeat']} rounds (every round in brackets), x: ratio to {sizes[0]} items")
    print(f"  {'':<32}" + "".join(f"{f'{s} items':>30}" for s in sizes))
    for label, cells in summary(results):
        print(f"  {label:<32}" + "".join(f"{cell:>30}" for cell in cells))
    for line in accounting_lines(results):
        print(f"  {line}")


def scale_markdown(results: dict[str, Any]) -> str:
    """The table as Markdown: a row per figure, a column per size; each cell the median over the rounds, every
    round in brackets (``>T``: not finished in the timeout) and the median's ratio to the first size's."""
    sizes = results["sizes"]
    lines = [f"| figure | {' | '.join(f'{s} items' for s in sizes)} |", "|---|" + "---|" * len(sizes)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in summary(results)]
    return "\n".join(lines) + "\n"


KEPT_MARK = "<!-- written by hand: kept when the figures above are written again -->"
"""In the ``--markdown`` file, what follows this line (what the figures say) survives a new run."""


def scale_page(results: dict[str, Any]) -> str:
    """What ``--markdown`` writes: the command that made the figures, the table and every record's accounting."""
    return "\n".join([
        "# The catalogue at scale: figures", "",
        f"Made by `{results['command']}` ({results['repeat']} rounds; {results['records_per_item']} records per item, "
        f"{results['partitions']} partition(s) per topic, {results['timeout']:.0f} s for the normaliser and the "
        f"connector each; {results['cpus']} CPUs shared with the broker and the registry). Each cell: the median, "
        "every round in brackets, and xN the median's ratio to the first size's, measured in the same run.", "",
        scale_markdown(results), *failure_lines(results), "Every record accounted for:", "",
        *(f"- {line}" for line in accounting_lines(results)), ""])


def failure_lines(results: dict[str, Any]) -> list[str]:
    """The sizes of a round that stopped with an error (left out of the table's medians), and why."""
    failed = [f"- round {number}, {size} items: {figures['error']}"
              for number, round_ in enumerate(results["rounds"], start=1)
              for size, figures in round_.items() if "error" in figures]
    return ["Runs that failed (not in the medians above):", "", *failed, ""] if failed else []


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    args = arguments().parse_args()
    if args.step:
        step_main(args.step, args.partitions, args.credentials)
        return
    if args.report:
        results = json.loads(args.report.read_text(encoding="utf-8"))
    else:
        results = run_all(args)
    print_table(results)
    write_outputs(results, args.json, args.markdown)


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="item counts, comma-separated; the first is the baseline "
                        "(default: the real catalogue's count,100,500)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--records", type=int, default=20, help="records published per item")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of every item topic")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds the normaliser and the connector each get (then: how far they got)")
    parser.add_argument("--json", type=Path, help="write every figure here (after each size, and at the end)")
    parser.add_argument("--markdown", type=Path, help="write the table here (scale_page)")
    parser.add_argument("--report", type=Path, help="print (and write) the table of a JSON file written before; "
                        "nothing is run")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # in a step's own process
    parser.add_argument("--credentials", type=Path, help=argparse.SUPPRESS)
    return parser


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every size, ``--repeat`` times, on one platform; a size that fails is recorded with its error."""
    sizes = [int(s) for s in (args.sizes or f"{len(load_catalogue())},100,500").split(",")]
    results: dict[str, Any] = {"command": "python -m bench.bench_catalogue_scale " + shlex.join(sys.argv[1:]),
                               "sizes": sizes, "repeat": args.repeat, "records_per_item": args.records,
                               "partitions": args.partitions, "timeout": args.timeout, "cpus": os.cpu_count(),
                               "rounds": []}
    with platform() as (bootstrap, registry_url):
        kafka, registry = kafka_at(bootstrap), registry_at(registry_url)
        warm_up(kafka)
        for number in range(1, args.repeat + 1):
            print(f"round {number} (load average {os.getloadavg()[0]:.1f})", flush=True)
            round_: dict[str, Any] = {}
            results["rounds"].append(round_)
            for size in sizes:
                round_[str(size)] = _size_or_error(kafka, registry, size, args)
                write_outputs(results, args.json, None)
    return results


def _size_or_error(kafka: KafkaConnection, registry: RegistryConnection, size: int, args: argparse.Namespace,
                   ) -> dict[str, Any]:
    figures: dict[str, Any] = {"load_average": os.getloadavg()[0]}
    try:
        return figures | measure_size(kafka, registry, size, args)
    except (RuntimeError, GovbusError, KafkaException) as error:
        print(f"    {size} items failed: {error}", flush=True)
        return figures | {"error": f"{type(error).__name__}: {error}"}


def write_outputs(results: dict[str, Any], json_file: Path | None, markdown_file: Path | None) -> None:
    """The JSON, and the Markdown page with what follows :data:`KEPT_MARK` in the file before kept."""
    if json_file:
        json_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if markdown_file:
        before = markdown_file.read_text(encoding="utf-8") if markdown_file.exists() else ""
        kept = before[before.index(KEPT_MARK):] if KEPT_MARK in before else ""
        markdown_file.write_text(scale_page(results) + ("\n" + kept if kept else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
