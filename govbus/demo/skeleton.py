"""The walking skeleton, narrated: market regulation's existing producer (AvroSerializer) -> the
normaliser -> canonical topic -> HTTP push -> a subscriber's receiver; invalid and undecodable
records go to the dead-letter topic with their reasons."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from connectors.reference_receiver import ReferenceReceiver
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.demo.context import DemoContext, progress_bar
from govbus.demo.streams_step import StreamProcessors
from govbus.demo.synthetic import enterprise_registrations
from govbus.envelope import ChangeEvent
from govbus.identities import principal_key
from govbus.platform.components import Component, start_component
from govbus.platform.processes import free_port
from govbus.skeleton_publish import PublishMetrics, enterprise_event, publish_events, publish_raw
from govbus.topic_names import item_topics
from govbus.topic_reader import read_topic
from streams.dead_letters import DeadLetter

ITEM = "enterprise_registration"
POISON = [(b"legacy-system-1", b"<xml>not Avro</xml>"), (b"legacy-system-2", b"\x00\x7f\xff\xff\xffbroken")]


@dataclass(frozen=True)
class DemoTopics:
    source: str
    canonical: str
    dead_letters: str

    @classmethod
    def for_prefix(cls, prefix: str) -> DemoTopics:
        topics = item_topics("market-regulation", ITEM, prefix)
        return cls(topics.department, topics.canonical, topics.dead_letter)


def run_skeleton(context: DemoContext, count: int, processors: StreamProcessors) -> None:
    """Publish ``count`` enterprise registrations (and two undecodable messages) the way market
    regulation's existing system does; the running normaliser validates them, the HTTP pusher
    delivers the canonical ones to a subscriber."""
    console, state = context.console, context.platform
    console.rule("[bold]the walking skeleton: enterprise registrations from market regulation to a subscriber")
    run = context.run
    topics = DemoTopics.for_prefix(context.prefix)
    logs = context.logs
    ports = {"normaliser": processors.normaliser_metrics_port, "push": free_port(), "publisher": free_port()}
    publisher_metrics = CollectorRegistry()
    start_http_server(ports["publisher"], addr="127.0.0.1", registry=publisher_metrics)
    env = {
        **context.env(), "GOVBUS_PUSH_TOPIC": topics.canonical,
        "GOVBUS_PUSH_GROUP": f"govbus-demo-push-{run}", "GOVBUS_PUSH_METRICS_PORT": str(ports["push"]),
        "GOVBUS_PUSH_RETRY_INITIAL_SECONDS": "0.05", "GOVBUS_PUSH_RETRY_JITTER_SECONDS": "0.05",
    }
    synthetic = enterprise_registrations(count, context.invalid_share, seed=int(run, 16))
    events = [enterprise_event(s.record) for s in synthetic]
    push: Component | None = None
    with ReferenceReceiver(fail_share=0.1) as receiver:
        env["GOVBUS_PUSH_URL"] = receiver.url
        try:
            push = start_component("http push", "connectors.http_push", env, logs / "push.log")
            console.print(f"market regulation's existing producer publishes; the normaliser (pid "
                          f"{processors.normaliser.pid}) checks each record; the HTTP pusher (pid {push.pid}) sends "
                          f"each canonical event to a subscriber's receiver at {receiver.url}, which refuses about "
                          "10% of requests with 503")
            expected_valid = sum(s.broken_rule is None for s in synthetic)
            market_regulation = principal_key("department", "market-regulation")
            _publish(console, context.kafka_as(market_regulation), context.registry_as(market_regulation),
                     topics.source, events, PublishMetrics(publisher_metrics))
            _await_flow(console, state.kafka, topics, receiver, expected_valid,
                        count - expected_valid + len(POISON), [processors.normaliser, push])
            _summarise(console, state.kafka, topics, receiver, ports, len(events))
        finally:
            if push is not None:
                push.stop()


def _publish(console: Console, kafka: KafkaConnection, registry: RegistryConnection, topic: str,
             events: list[ChangeEvent], metrics: PublishMetrics) -> None:
    with progress_bar(console) as progress:
        task = progress.add_task("publishing (AvroSerializer)", total=len(events))
        report = publish_events(kafka, registry, topic, events,
                                on_delivered=lambda: progress.advance(task), metrics=metrics)
    acked = publish_raw(kafka, topic, POISON)
    console.print(f"market regulation published {report.delivered} events ({len(report.failed)} failed) "
                  f"and a legacy system sent {acked} undecodable messages to {topic}")


def _await_flow(console: Console, kafka: KafkaConnection, topics: DemoTopics, receiver: ReferenceReceiver,
                valid: int, rejected: int, components: list[Component]) -> None:
    deadline = time.monotonic() + 180
    with progress_bar(console) as progress:
        delivered = progress.add_task("delivered to the subscriber", total=valid)
        dead = progress.add_task("dead-lettered with a reason", total=rejected)
        while time.monotonic() < deadline:
            progress.update(delivered, completed=len(receiver.events.applied))
            progress.update(dead, completed=_count(kafka, topics.dead_letters))
            if progress.finished:
                return
            if not all(c.alive() for c in components):
                break
            time.sleep(0.5)
    console.print("[yellow]the walking skeleton did not finish in time; see normaliser.log and push.log[/]")


def _count(kafka: KafkaConnection, topic: str) -> int:
    return len(read_topic(kafka, topic))


def _metric(port: int, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with these labels, from a component's /metrics (nan: unreachable)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return float("nan")
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and labels.items() <= s.labels.items())


def _summarise(console: Console, kafka: KafkaConnection, topics: DemoTopics, receiver: ReferenceReceiver,
               ports: dict[str, int], published: int) -> None:
    console.print(f"topics: department [cyan]{topics.source}[/], canonical [cyan]{topics.canonical}[/], "
                  f"dead letters [cyan]{topics.dead_letters}[/]")
    acknowledged = _metric(ports["publisher"], "govbus_publisher_records_published_total")
    processed = _metric(ports["normaliser"], "govbus_normaliser_records_processed_total", item=ITEM)
    delivered = _metric(ports["push"], "govbus_push_delivered_total")
    flow = Table(title="What flowed where")
    flow.add_column("stage")
    flow.add_column("where")
    flow.add_column("records", justify="right")
    flow.add_row("published, acknowledged", "department topic", f"{acknowledged:.0f} of {published}")
    flow.add_row("sent by a legacy system, undecodable", "department topic", str(len(POISON)))
    flow.add_row("processed by the normaliser", "normaliser (Kafka transactions)", f"{processed:.0f}")
    flow.add_row("valid, written canonical", "canonical topic", str(_count(kafka, topics.canonical)))
    flow.add_row("rejected, dead-lettered", "dead-letter topic", str(_count(kafka, topics.dead_letters)))
    flow.add_row("delivered (2xx, then offset committed)", "subscriber", f"{delivered:.0f}")
    flow.add_row("refused by the subscriber (503), retried", "subscriber", str(receiver.events.refused))
    flow.add_row("applied twice by the subscriber", "subscriber", str(receiver.events.duplicates))
    console.print(flow)
    console.print(_rejections(kafka, topics.dead_letters))
    console.print("metrics were served at " + ", ".join(f"{name} :{port}/metrics" for name, port in ports.items()))


def _rejections(kafka: KafkaConnection, dead_letter_topic: str) -> Table:
    reasons: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for message in read_topic(kafka, dead_letter_topic):
        letter = DeadLetter.from_headers(message.headers())
        key = (letter.stage, letter.rule)
        reasons[key] += 1
        examples.setdefault(key, letter.reason)
    rejected = Table(title="What was rejected, and why")
    rejected.add_column("stage")
    rejected.add_column("rule")
    rejected.add_column("count", justify="right")
    rejected.add_column("example reason", overflow="fold")
    for (stage, rule), n in reasons.most_common():
        rejected.add_row(stage, rule, str(n), examples[(stage, rule)])
    return rejected
