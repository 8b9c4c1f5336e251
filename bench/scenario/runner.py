"""``govbus scenario run``: one province's bus, assembled, with authentication on, under a steady load.

1. the local platform (``govbus dev up``) is started or reused; the run gets a topic prefix of its own, its topics
   and schemas, its principals and ACLs (:mod:`bench.scenario.setup`);
2. PostgreSQL starts (natural resources' registration database with its outbox, the archive's mirror database);
3. the processes start (:mod:`bench.scenario.components`): two workers of the normaliser and of the profile
   builder, the ingest gateways, the outbox connector, the webhook receiver and the subscribers' connectors, the
   public feed, the ACL reconciler; then the grants and subscriptions are declared;
4. 12 departments publish at ``rate`` records a second for ``duration_s`` through the SDK, bulk files, the
   gateway, the outbox and their local dialects (:mod:`bench.scenario.publishing`), every record in the ledger;
   at ``revoke_at`` public security revokes the hotel's grant; at ``fault_at`` the fault, if any, is injected
   (:mod:`bench.scenario.faults`); the sampler records memory, end offsets and lag every few seconds;
5. the run waits until every consumer group has caught up, saves what the stateful subscribers hold, and stops
   every process it started, by PID. ``govbus scenario check`` then counts, record by record.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from rich.console import Console

from bench.scenario import components, faults, parties, setup
from bench.scenario.fleet import Fleet
from bench.scenario.holdings import outbox_pending, save_feed, save_mirror, save_outbox
from bench.scenario.ledger import Ledger
from bench.scenario.publishing import STOP, WORKERS, PathContext, PathWorker, producer_factory
from bench.scenario.sampler import Sampler
from bench.scenario.spec import RunFiles, ScenarioSpec
from bench.scenario.streams_plan import DIALECT, Stream, catalogue_records, dialect_records, streams
from connectors.webhook.signing_secrets import new_secret
from govbus import clients
from govbus.demo.context import start_platform
from govbus.demo.paths import publisher_settings
from govbus.exceptions import GovbusError
from govbus.identities import principal_key
from govbus.platform.postgres import private_cluster
from govbus.sharing.runtime import consumer_group
from govbus.topic_names import canonical_topic, dead_letter_topic, delivery_topic, department_topic
from streams.profiles.topology import ProfileSettings, ProfileTopology

TICK_S = 0.1
QUIET_S = 15.0


@dataclass
class Run:
    spec: ScenarioSpec
    files: RunFiles
    context: setup.ScenarioContext
    fleet: Fleet
    feed_url: str = ""
    control_url: str = ""
    gateways: dict[str, tuple[str, str]] = field(default_factory=dict)
    revoked_at: float | None = None
    publish_started_at: float | None = None
    publish_ended_at: float | None = None


def run_scenario(spec: ScenarioSpec, out: Path | None, console: Console) -> RunFiles:
    platform = start_platform(console)
    run_id = uuid.uuid4().hex[:6]
    files = RunFiles(out or Path(platform.data_dir).parent / "scenario" / run_id)
    files.root.mkdir(parents=True, exist_ok=True)
    context = setup.ScenarioContext(platform, run=run_id, console=console, invalid_share=spec.invalid_share,
                                    run_dir=files.root)
    console.rule(f"[bold]scenario {run_id}: {spec.rate:g} records/s for {spec.duration_s:g} s, "
                 f"fault: {spec.fault or 'none'}")
    run = Run(spec, files, context, Fleet())
    started = time.time()
    drained = False
    try:
        with ExitStack() as stack:
            _prepare(run)
            # durable: the postgres-restart fault crashes it (-m immediate), and with synchronous_commit off a
            # crash loses the last commits the server had acknowledged (one mirrored row in a matrix run)
            cluster = stack.enter_context(private_cluster(durable=True))
            stack.callback(run.fleet.stop_all)
            outbox_dsn, mirror_dsn = setup.prepare_databases(cluster, run_id)
            _start(run, mirror_dsn, outbox_dsn)
            run.fleet.supervise(files.restarts)
            sampler = stack.enter_context(_sampler(run))
            run.fleet.on_pid = sampler.track
            _await_consumers(run)
            target = faults.Target(run.fleet, context, cluster, run.control_url, files.faults)
            _publish(run, outbox_dsn, target)
            drained = _drain(run, sampler, outbox_dsn)
            _save_holdings(run, mirror_dsn, outbox_dsn)
    finally:
        _write_spec(run, started, drained)
    console.print(f"run data in {files.root}; next: govbus scenario check {files.root}")
    return files


def _prepare(run: Run) -> None:
    with run.context.console.status("topics, schemas, principals and ACLs of the run..."):
        setup.prepare_topics(run.context)
        setup.secure(run.context)


def _start(run: Run, mirror_dsn: str, outbox_dsn: str) -> None:
    context, fleet = run.context, run.fleet
    secret = new_secret()
    with context.console.status("starting the processes of the run..."):
        components.processors(fleet, context, run.spec.workers)
        run.gateways = components.gateways(fleet, context)
        components.outbox(fleet, context, outbox_dsn)
        receiver_url, run.control_url = components.receiver(
            fleet, context, secret, str(run.files.delivery_file(parties.CENTRE.subscriber)))
        setup.declare(context, receiver_url)
        components.reconciler(fleet, context)
        run.feed_url = components.deliveries(fleet, context, secret, mirror_dsn)
    context.console.print(f"{len(fleet.specs)} processes: " + ", ".join(f"{n} ({p})" for n, p in fleet.pids().items()))


def _await_consumers(run: Run, timeout: float = 90.0) -> None:
    """Wait until every consumer group of the run has its members and assignment (Stable), so the first records
    are not timed against a group still forming."""
    groups = [group for group, _topics in _consumers(run, _stages(run)).values()]
    admin = clients.admin(run.context.kafka)
    deadline = time.monotonic() + timeout
    with run.context.console.status("waiting for every consumer group to be assigned its partitions..."):
        while time.monotonic() < deadline:
            described = admin.describe_consumer_groups(groups, request_timeout=10)
            states = {group: _state(future) for group, future in described.items()}
            if all(state == "STABLE" for state in states.values()):
                return
            time.sleep(1)
    run.context.console.print(f"[yellow]consumer groups not all stable after {timeout:g} s: "
                              f"{', '.join(g for g, s in states.items() if s != 'STABLE')}[/]")


def _state(future: Any) -> str:
    try:
        return str(future.result(timeout=15).state.name)
    except Exception:  # a group not there yet
        return "UNKNOWN"


def _stages(run: Run) -> dict[str, list[str]]:
    prefix = run.context.prefix
    owner = {s.item: s.department for s in streams()}
    items = setup.normalised_items()
    stages = {"department": [department_topic(owner[i], i, prefix) for i in items] + setup.dialect_topics(prefix),
              "canonical": [canonical_topic(i, prefix) for i in items],
              "dead_letter": [dead_letter_topic(i, prefix) for i in items]}
    for party in (parties.BANK, parties.HOTEL):
        stages[f"delivered:{party.subscriber}"] = [delivery_topic(party.subscriber, party.subscription, prefix)]
    return stages


def _consumers(run: Run, stages: dict[str, list[str]]) -> dict[str, tuple[str, list[str]]]:
    """consumer -> (its group, the topics it reads): the processors and every declared subscription's connector."""
    context = run.context
    profiles = ProfileTopology(ProfileSettings(kafka=context.kafka, registry=context.registry,
                                               topic_prefix=context.prefix, profiles_app_id=context.profiles_app_id))
    found = {"normaliser": (context.normaliser_app_id, stages["department"]),
             "profiles": (context.profiles_app_id, [profiles.canonical_topic(i) for i in profiles.source_items()])}
    for party in parties.DECLARED:
        subscription = next(s for s in parties.subscriptions("http://127.0.0.1/") if s.name == party.subscription)
        found[party.subscriber] = (consumer_group(party.subscription, context.prefix),
                                   [canonical_topic(r.item, context.prefix) for r in subscription.items])
    return found


def _sampler(run: Run) -> Sampler:
    stages = _stages(run)
    transactional = set(stages["canonical"])  # the normaliser's outputs: each transaction ends with a marker
    return Sampler(run.context.kafka, run.files.samples, stages=stages, consumers=_consumers(run, stages),
                   pids=run.fleet.pids(), every=run.spec.sample_every,
                   transactional=transactional.__contains__).start()


def _workers(run: Run, outbox_dsn: str) -> dict[str, PathWorker]:
    context = run.context
    path_context = PathContext(
        prefix=context.prefix, ledger=Ledger(run.files.ledger), seed=run.spec.seed,
        resend_share=run.spec.resend_share, publisher_settings=lambda d: publisher_settings(context, d),
        producer_for=producer_factory(lambda d: context.kafka_as(principal_key("department", d))),
        registry_for=lambda d: _registry_client(context, d), gateways=run.gateways, outbox_dsn=outbox_dsn,
        work_dir=run.files.root)
    return {path: worker(path_context) for path, worker in WORKERS.items()}


def _registry_client(context: setup.ScenarioContext, department: str) -> Any:
    return clients.registry_client(context.registry_as(principal_key("department", department)))


def _sources(spec: ScenarioSpec) -> dict[Stream, Iterator[Any]]:
    return {stream: (dialect_records(stream, spec.seed, spec.invalid_share) if stream.path == DIALECT
                     else catalogue_records(stream, spec.seed, spec.invalid_share)) for stream in streams()}


def _publish(run: Run, outbox_dsn: str, target: faults.Target) -> None:
    """Publish at the spec's rate for its duration, spread over the streams by weight; revoke and inject the
    fault on time; then let every path finish what it holds."""
    spec, console = run.spec, run.context.console
    workers = _workers(run, outbox_dsn)
    for worker in workers.values():
        worker.start()
    sources = _sources(spec)
    chosen = [stream for stream in sources if spec.weight(stream.path) > 0]
    weights = [stream.weight * spec.weight(stream.path) for stream in chosen]
    rng = random.Random(spec.seed)
    began, issued = time.monotonic(), 0
    fault = faults.Scheduled(spec.fault, began + spec.fault_at * spec.duration_s, target) if spec.fault else None
    if fault is not None:
        fault.start()
    revoke_at = began + spec.revoke_at * spec.duration_s
    revoker: threading.Thread | None = None
    total = int(spec.rate * spec.duration_s)
    run.publish_started_at = time.time()
    with run.context.progress() as progress:
        task = progress.add_task("publishing", total=total)
        while issued < total:
            elapsed = time.monotonic() - began
            due = min(total, int(spec.rate * elapsed)) - issued  # a stalled tick is caught up at the next
            for stream in rng.choices(chosen, weights, k=max(0, due)):
                workers[stream.path].queue.put((stream, next(sources[stream])))
            issued += max(0, due)
            progress.update(task, completed=issued)
            if revoker is None and time.monotonic() >= revoke_at:
                revoker = _revoke_in_background(run)
            _check_workers(workers)
            time.sleep(TICK_S)
    run.publish_ended_at = time.time()
    if revoker is not None:
        revoker.join()
    if fault is not None:
        fault.finish()
    with console.status("the departments finish what they hold (acknowledgements, last bulk files)..."):
        for worker in workers.values():
            worker.queue.put(STOP)
        for worker in workers.values():
            worker.join()
        _check_workers(workers)
    console.print(f"published {issued} records: {workers['sdk'].context.ledger.accepted} accepted, "
                  f"{workers['sdk'].context.ledger.refused} refused at the source")
    workers["sdk"].context.ledger.close()


def _revoke_in_background(run: Run) -> threading.Thread:
    """Public security revokes the hotel's grant, in a thread (the write waits for the broker, which a fault may
    have taken away); the time is taken when the broker stored the revocation."""
    def revoke() -> None:
        while True:
            try:
                setup.revoke(run.context)
                break
            except (GovbusError, KafkaException):  # the broker is away: public security tries again
                time.sleep(1)
        run.revoked_at = time.time()
    thread = threading.Thread(target=revoke, name="revoke", daemon=True)
    thread.start()
    return thread


def _check_workers(workers: dict[str, PathWorker]) -> None:
    for worker in workers.values():
        if worker.error is not None:
            raise GovbusError(f"the {worker.path} path failed: {worker.error}") from worker.error


def _drain(run: Run, sampler: Sampler, outbox_dsn: str) -> bool:
    """Wait until every consumer has read all it can (lag 0) and the outbox is empty; or until nothing moves for
    QUIET_S while what each consumer lags is a marker a partition at most, or nothing readable (transaction markers
    and aborted records show as lag no consumer will ever commit away); at most ``drain_timeout_s``. The revoked
    subscriber's connector may no longer read its topic, so it is left out once the grant is revoked."""
    console = run.context.console
    ignored = {parties.HOTEL.subscriber} if run.revoked_at is not None else set()
    residue = {name: 3 * len(topics) for name, (_group, topics) in _consumers(run, _stages(run)).items()}
    deadline = time.monotonic() + run.spec.drain_timeout_s
    drained, last, still_since = False, None, time.monotonic()
    with console.status("waiting for every consumer to catch up...") as status:
        while time.monotonic() < deadline and not drained:
            sample = sampler.sample()
            lags = {name: lag for name, lag in sample["lag_events"].items() if name not in ignored}
            pending = outbox_pending(outbox_dsn, components.outbox_name(run.context))
            now = (sample["end_offsets"], lags, pending)
            if now != last or sample["errors"]:
                last, still_since = now, time.monotonic()
            caught_up = lags and sum(lags.values()) == 0 and pending == 0 and not sample["errors"]
            quiet = pending == 0 and time.monotonic() - still_since >= QUIET_S
            drained = bool(caught_up) or (quiet and all(
                lag <= residue.get(name, 0) or _nothing_readable(run, name) for name, lag in lags.items()))
            status.update(f"waiting for every consumer to catch up: {sum(lags.values())} events behind, "
                          f"{pending} outbox rows")
            time.sleep(2)
    time.sleep(3)  # the webhook's last batch
    _await_feed(run)
    if not drained:
        console.print(f"[yellow]not every consumer caught up in {run.spec.drain_timeout_s:g} s: "
                      f"the check will count what is missing[/]")
    dead = run.fleet.dead()
    if dead:
        console.print(f"[yellow]processes that stopped during the run: {', '.join(dead)} (see their logs in "
                      f"{run.context.logs})[/]")
    return drained


def _nothing_readable(run: Run, consumer: str) -> bool:
    """Whether ``consumer``'s group has nothing left to read: its lag is only transaction markers and records of
    aborted transactions (a broker kill aborts some), which a read_committed reader skips. Read from the group's
    committed offsets to the end, as its connector would."""
    group, topics = _consumers(run, _stages(run))[consumer]
    reader = clients.consumer(run.context.kafka, f"{group}.drain-probe", {
        "enable.auto.commit": False, "enable.partition.eof": True})
    committer = clients.commit_reader(run.context.kafka, group, "govbus-scenario-drain")
    try:
        listed = reader.list_topics(timeout=10).topics
        wanted = [TopicPartition(t, p) for t in topics if t in listed for p in listed[t].partitions]
        positions = [tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                     for tp in committer.committed(wanted, timeout=10)]
        reader.assign(positions)
        open_partitions, deadline = len(positions), time.monotonic() + 15
        while open_partitions and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None:
                continue
            if message.error() is None:
                return False  # a record the group has not consumed
            if message.error().code() == KafkaError._PARTITION_EOF:
                open_partitions -= 1
        return open_partitions == 0
    except KafkaException:
        return False
    finally:
        reader.close()
        committer.close()


def _await_feed(run: Run, timeout: float = 60.0) -> None:
    """The feed reads the open items without a consumer group (no lag to watch): wait until the entries it
    holds stay the same for three readings, 2 s apart."""
    seen: list[object] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]):
        try:
            seen.append(httpx.get(f"{run.feed_url}/healthz", timeout=10).json().get("items"))
        except (httpx.HTTPError, ValueError):
            seen.append(None)
        time.sleep(2)


def _save_holdings(run: Run, mirror_dsn: str, outbox_dsn: str) -> None:
    holdings = run.files.holdings
    feed = save_feed(run.feed_url, holdings / "public-feed.json")
    mirrored = save_mirror(mirror_dsn, "scn_", holdings / f"{parties.ARCHIVE.subscriber}.json")
    rows, refused = save_outbox(outbox_dsn, holdings / "outbox.json")
    run.context.console.print(f"saved: {feed} feed entries, {mirrored} mirrored rows, outbox {rows} rows "
                              f"({refused} refused by the connector)")


def _write_spec(run: Run, started: float, drained: bool) -> None:
    spec = {"run_id": run.context.run, **run.spec.model_dump(), "brokers": _brokers(run),
            "prefix": run.context.prefix, "started_at": started, "ended_at": time.time(), "drained": drained,
            "revoked_at": run.revoked_at, "publish_started_at": run.publish_started_at,
            "publish_ended_at": run.publish_ended_at, "secured": run.context.secured, "processes": run.fleet.pids(),
            "feed_url": run.feed_url}
    run.files.spec.write_text(json.dumps(spec, indent=2), encoding="utf-8")


def _brokers(run: Run) -> int:
    return len(run.context.platform.kafka_bootstrap.split(","))
