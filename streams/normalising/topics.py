"""Every topic the normaliser needs, with one partition count, created explicitly.

The local broker has topic auto-creation off, and faust needs a table's changelog to have as
many partitions as each topic of the agent that writes the table (``PartitionsMismatch``
otherwise), so :func:`normaliser_topics` lists them all with ``normaliser_partitions``:

- per item: the department topic, each local dialect topic, the canonical topic, the
  dead-letter topic;
- per item: the changelog of its event-id table (``<app id>-seen-<item>-changelog``),
  compacted *and* deleted after its retention (twice the dedup window: see
  :mod:`streams.normalising.dedup`);
- faust's leader-election topic ``<app id>-__assignor-__leader`` (one partition, as faust makes it).

:func:`ensure_normaliser_topics` creates what is missing and refuses, naming them, topics that
exist with another partition count (faust would crash on them later, less clearly).
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from govbus.exceptions import ConfigurationError
from govbus.topic_names import canonical_topic, dead_letter_topic, item_segment
from govbus.topics import TopicSpec, ensure_topics
from streams.dialects import dialects_for
from streams.normalising.settings import NormaliserSettings


def table_name(item: str) -> str:
    """Name of ``item``'s event-id table (faust names its changelog ``<app id>-<name>-changelog``)."""
    return f"seen-{item_segment(item)}"


def changelog_topic(settings: NormaliserSettings, item: str) -> str:
    return f"{settings.normaliser_app_id}-{table_name(item)}-changelog"


def source_topics(settings: NormaliserSettings, item: str) -> list[str]:
    """The department topic and the local dialect topics of ``item``."""
    return [dialect.topic(settings.topic_prefix) for dialect in dialects_for(item)]


def normaliser_topics(settings: NormaliserSettings) -> list[TopicSpec]:
    """Every topic the normaliser reads or writes, each with ``normaliser_partitions`` partitions."""
    partitions = settings.normaliser_partitions
    retention_ms = str(int(2 * settings.normaliser_dedup_window_seconds * 1000))
    specs: list[TopicSpec] = []
    for item in settings.normaliser_items:
        names = [*source_topics(settings, item), canonical_topic(item, settings.topic_prefix),
                 dead_letter_topic(item, settings.topic_prefix)]
        specs.extend(TopicSpec(name, partitions) for name in names)
        if settings.normaliser_dedup:
            specs.append(TopicSpec(changelog_topic(settings, item), partitions,
                                   {"cleanup.policy": "compact,delete", "retention.ms": retention_ms}))
    specs.append(TopicSpec(leader_topic(settings), 1))
    return specs


def leader_topic(settings: NormaliserSettings) -> str:
    """faust's own topic electing the worker that assigns partitions (one partition)."""
    return f"{settings.normaliser_app_id}-__assignor-__leader"


def ensure_normaliser_topics(settings: NormaliserSettings, timeout: float = 30.0) -> list[TopicSpec]:
    """Create the missing topics; :class:`ConfigurationError` if any exists with another partition count."""
    specs = normaliser_topics(settings)
    ensure_topics(settings.kafka_bootstrap, specs, timeout=timeout)
    metadata = AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(timeout=timeout).topics
    wrong = [f"{spec.name} ({len(metadata[spec.name].partitions)})" for spec in specs
             if spec.name in metadata and len(metadata[spec.name].partitions) != spec.partitions]
    if wrong:
        raise ConfigurationError(
            f"these topics exist with another partition count: {', '.join(wrong)}; the normaliser needs "
            f"{settings.normaliser_partitions} on every source, output and changelog topic (faust refuses a table "
            "whose changelog differs from its sources): set GOVBUS_NORMALISER_PARTITIONS to match, or recreate them")
    return specs
