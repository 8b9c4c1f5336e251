"""Stream processors, narrated: the normaliser and the profile builder run through the rest of the
demo (the walking skeleton's enterprise registrations first, then the local dialects); what was
fixed, dead letters with their reasons, duplicates dropped, items joined into enterprise and person
profiles."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import Producer
from rich.table import Table

from govbus import clients
from govbus.demo.context import DemoContext
from govbus.demo.dialect_samples import change_event, samples
from govbus.demo.paths import publisher_settings
from govbus.demo.subscribers_step import print_subscribers, subscribers
from govbus.demo.synthetic_items import records_for
from govbus.identities import principal_key
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.publisher import Publisher
from govbus.serde import WireEncoder
from govbus.sharing.masking import mask
from govbus.topic_names import canonical_topic, dead_letter_topic, profile_topic, value_subject
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from streams.dead_letters import DeadLetter
from streams.dialects import FIXES_HEADER, ITEMS, dialects_for, fixes_from_header
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics
from streams.profiles.topology import ProfileSettings, ensure_profile_topics

NORMALISER = principal_key("processor", "normaliser")
PROFILES = principal_key("processor", "profiles")

PER_DIALECT = 30
NORMALISED_ITEMS = (*ITEMS, "degree_certification", "government_procurement_award")


@dataclass(frozen=True)
class StreamProcessors:
    """The demo's one normaliser (every item in NORMALISED_ITEMS) and its profile builder."""

    normaliser: Component
    profiles: Component
    normaliser_metrics_port: int

    @property
    def workers(self) -> list[Component]:
        return [self.normaliser, self.profiles]


@contextmanager
def stream_processors(context: DemoContext) -> Iterator[StreamProcessors]:
    """Run the normaliser and the profile builder while the block runs; stop them (by PID) after it.

    One normaliser serves both the walking skeleton and the dialects: a second one under another
    consumer group would read the department topics again and write their events a second time.
    """
    console = context.console
    console.rule("[bold]stream processors: the normaliser and the profile builder")
    metrics_port = free_port()
    common = {"GOVBUS_NORMALISER_APP_ID": normaliser_app_id(context),
              "GOVBUS_NORMALISER_ITEMS": ",".join(NORMALISED_ITEMS),
              "GOVBUS_NORMALISER_METRICS_PORT": str(metrics_port),
              "GOVBUS_STREAMS_STATE_DIR": str(context.logs / "state"),
              "GOVBUS_PROFILES_APP_ID": profiles_app_id(context)}
    _create_topics(context)
    workers: list[Component] = []
    try:
        workers.append(start_component("normaliser", "streams.normaliser", {**context.env(NORMALISER), **common},
                                       context.logs / "normaliser.log"))
        workers.append(start_component("profiles", "streams.profiles", {**context.env(PROFILES), **common},
                                       context.logs / "profiles.log"))
        console.print(f"started the normaliser (pid {workers[0].pid}; {len(NORMALISED_ITEMS)} items, department "
                      f"and local-dialect topics -> canonical or dead letters, in Kafka transactions) and the "
                      f"profile builder (pid {workers[1].pid}); both run until the demo ends")
        yield StreamProcessors(workers[0], workers[1], metrics_port)
    finally:
        for worker in workers:
            worker.stop(timeout=20)


def run_streams(context: DemoContext, processors: StreamProcessors) -> Counter[str]:
    """Local dialects sent while two subscribers receive live; returns what was sent, by item."""
    console = context.console
    console.rule("[bold]local dialects normalised, dead letters, duplicates dropped, profiles joined")
    before = {item: _settled(context, item) for item in ITEMS}  # enterprise registration holds the skeleton's
    with subscribers(context) as subs:
        sent = _publish_dialects(context)
        _publish_awards(context)
        _await_items(context, sent, before, processors.workers)
        time.sleep(3)  # the last webhook batch and the feed's reader
        print_subscribers(context, subs)
    return sent


def print_streams_summary(context: DemoContext, sent: Counter[str]) -> None:
    """What the normaliser fixed and rejected, and the profiles joined (after the processors stopped)."""
    _print_dialects(context, sent)
    _print_profiles(context)


def _create_topics(context: DemoContext) -> None:
    """Every topic the two processors read or write, created in one batch each before they start."""
    ensure_normaliser_topics(NormaliserSettings(
        kafka=context.kafka, registry=context.registry, topic_prefix=context.prefix,
        normaliser_app_id=normaliser_app_id(context), normaliser_items=NORMALISED_ITEMS))
    ensure_profile_topics(ProfileSettings(kafka=context.kafka, registry=context.registry, topic_prefix=context.prefix,
                                          profiles_app_id=profiles_app_id(context)))


def normaliser_app_id(context: DemoContext) -> str:
    return f"govbus-demo-normaliser-{context.run}"


def profiles_app_id(context: DemoContext) -> str:
    return f"govbus-demo-profiles-{context.run}"



def _publish_dialects(context: DemoContext) -> Counter[str]:
    """Every local dialect's system sends records in its own format (some of them bad, a few twice)."""
    producers: dict[str, Producer] = {}
    rng = random.Random(int(context.run, 16))
    sent: Counter[str] = Counter()
    for item in ITEMS:
        for dialect in dialects_for(item)[1:]:
            topic = dialect.topic(context.prefix)
            department = principal_key("department", dialect.department)  # each system as its department
            producer = producers.setdefault(department, clients.producer(context.kafka_as(department)))
            encoder = WireEncoder(clients.registry_client(context.registry_as(department)), value_subject(topic),
                                  dialect.event_schema())
            seed = rng.randrange(10**6)
            for sample in samples(item, dialect.name, PER_DIALECT, bad_share=context.invalid_share, seed=seed):
                value = encoder.encode(change_event(sample, dialect.department, rng))
                producer.produce(topic, key=sample.key.encode(), value=value)
                sent[item] += 1
                if rng.random() < 0.05:  # a re-send after a time-out: the same event again
                    producer.produce(topic, key=sample.key.encode(), value=value)
            producer.poll(0)
    for producer in producers.values():
        producer.flush(60)
    context.console.print(f"{sum(sent.values())} records sent in {sum(len(dialects_for(i)) - 1 for i in ITEMS)} "
                          "local dialects (field names, date formats, full-width characters, legacy ids), "
                          "about 5% of them sent twice")
    return sent


def _publish_awards(context: DemoContext, count: int = 40) -> None:
    """Finance publishes government procurement awards: open to the public, so the portal shows them."""
    item = "government_procurement_award"
    records = records_for(load_catalogue().get(item), count, 0.0, seed=int(context.run, 16) % 1000)
    with Publisher("finance", "procurement-system", settings=publisher_settings(context, "finance")) as publisher:
        for synthetic in records:
            publisher.publish(item, synthetic.record)


def _settled(context: DemoContext, item: str) -> int:
    return (len(read_topic(context.kafka, canonical_topic(item, context.prefix)))
            + len(read_topic(context.kafka, dead_letter_topic(item, context.prefix))))


def _await_items(context: DemoContext, sent: Counter[str], before: dict[str, int],
                 workers: list[Component]) -> None:
    deadline = time.monotonic() + 240
    with context.progress() as progress:
        tasks = {item: progress.add_task(f"normalised or rejected: {item}", total=n) for item, n in sent.items()}
        while time.monotonic() < deadline and all(w.alive() for w in workers):
            done = {item: _settled(context, item) - before[item] for item in sent}
            for item, count in done.items():
                progress.update(tasks[item], completed=min(count, sent[item]))
            if all(done[item] >= sent[item] for item in sent):
                time.sleep(3)  # let the profile builder catch up
                return
            time.sleep(1)
    context.console.print("[yellow]the stream processors did not finish in time; see normaliser.log[/]")


def _print_dialects(context: DemoContext, sent: Counter[str]) -> None:
    fixes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for item in sent:
        for message in read_topic(context.kafka, canonical_topic(item, context.prefix)):
            header = dict(message.headers() or []).get(FIXES_HEADER)
            for fix in fixes_from_header(header or b"[]"):
                fixes[str(fix.kind)] += 1
                examples.setdefault(str(fix.kind), f"{item}.{fix.field}: {fix.before!r} -> {fix.after!r}")
    table = Table(title=f"Normalised: what was fixed (the {FIXES_HEADER} header of each canonical record)")
    table.add_column("kind of fix")
    table.add_column("count", justify="right")
    table.add_column("example", overflow="fold")
    for kind, count in fixes.most_common():
        table.add_row(kind, str(count), examples[kind][:90])
    context.console.print(table)
    rejected = Table(title="Dead letters of the normaliser, and why")
    for column in ("item", "field: rule", "count", "example"):
        rejected.add_column(column, overflow="fold")
    for item in sent:
        reasons: Counter[str] = Counter()
        reason_examples: dict[str, str] = {}
        for message in read_topic(context.kafka, dead_letter_topic(item, context.prefix)):
            letter = DeadLetter.from_headers(message.headers())
            key = f"{letter.field}: {letter.rule}"
            reasons[key] += 1
            reason_examples.setdefault(key, letter.reason)
        for key, count in reasons.most_common(3):
            rejected.add_row(item, key, str(count), reason_examples[key][:100])
    context.console.print(rejected)


def _print_profiles(context: DemoContext) -> None:
    table = Table(title="Profiles joined from several items (compacted topics, last value per key)")
    for column in ("profile", "topic", "updates emitted", "current profiles", "example key"):
        table.add_column(column)
    for name in ("enterprise", "person"):
        topic = profile_topic(name, context.prefix)
        latest: dict[bytes, bytes | None] = {}
        messages = read_topic(context.kafka, topic)
        for message in messages:
            latest[message.key() or b""] = message.value()
        alive = [k for k, v in latest.items() if v is not None]
        example = alive[0].decode() if alive else ""
        if name == "person":  # a person's profile is keyed by the resident identity number: shown masked
            example = str(mask("resident_id", example))
        table.add_row(name, topic, str(len(messages)), str(len(alive)), example)
    context.console.print(table)
