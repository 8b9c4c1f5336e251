"""Every topic the normaliser reads or writes, with one partition count, created explicitly.

The local broker has topic auto-creation off, so :func:`normaliser_topics` lists, per item, the
department topic, each local dialect topic, the canonical topic and the dead-letter topic, and
(with deduplication on) the compacted changelog of the event-id store of each source topic
(``changelog__<app id>--<source topic>--default``, Quix Streams' name for it), all with
``normaliser_partitions``; and the compacted topic of its source heartbeats, ``<prefix>.sources`` (one partition:
:mod:`streams.normalising.heartbeat`), unless they are off.

:func:`ensure_normaliser_topics` refuses, naming them, topics that exist with another partition
count (before it creates anything), then creates what is missing.
"""

from __future__ import annotations

from govbus import clients
from govbus.exceptions import ConfigurationError
from govbus.topic_names import canonical_topic, dead_letter_topic, sources_topic
from govbus.topics import TopicSpec, ensure_topics
from streams.dialects import dialects_for
from streams.engine import changelog_topic
from streams.normalising.settings import NormaliserSettings


def source_topics(settings: NormaliserSettings, item: str) -> list[str]:
    """The department topic and the local dialect topics of ``item``."""
    return [dialect.topic(settings.topic_prefix) for dialect in dialects_for(item)]


def normaliser_topics(settings: NormaliserSettings) -> list[TopicSpec]:
    """Every topic the normaliser reads or writes, each with ``normaliser_partitions`` partitions."""
    partitions = settings.normaliser_partitions
    specs: list[TopicSpec] = []
    for item in settings.normaliser_items:
        names = [*source_topics(settings, item), canonical_topic(item, settings.topic_prefix),
                 dead_letter_topic(item, settings.topic_prefix)]
        specs.extend(TopicSpec(name, partitions) for name in names)
        if settings.normaliser_dedup:
            specs.extend(TopicSpec(changelog_topic(settings.normaliser_app_id, source), partitions,
                                   {"cleanup.policy": "compact"}) for source in source_topics(settings, item))
    if settings.normaliser_sources_interval_seconds:
        specs.append(sources_topic_spec(settings.topic_prefix))
    return specs


def sources_topic_spec(prefix: str) -> TopicSpec:
    """``<prefix>.sources``: compacted (the last heartbeat per source), one partition (a few records per
    source; readers read it whole)."""
    return TopicSpec(sources_topic(prefix), 1, {"cleanup.policy": "compact"})


def ensure_normaliser_topics(settings: NormaliserSettings, timeout: float = 30.0) -> list[TopicSpec]:
    """Create the missing topics; :class:`ConfigurationError` if any exists with another partition count."""
    specs = normaliser_topics(settings)
    metadata = clients.admin(settings.kafka).list_topics(timeout=timeout).topics
    wrong = [f"{spec.name} ({len(metadata[spec.name].partitions)}, not {spec.partitions})" for spec in specs
             if spec.name in metadata and len(metadata[spec.name].partitions) != spec.partitions]
    if wrong:
        raise ConfigurationError(
            f"these topics exist with another partition count: {', '.join(wrong)}; the normaliser expects "
            f"{settings.normaliser_partitions} on every source and output topic (and 1 on the sources topic): set "
            "GOVBUS_NORMALISER_PARTITIONS to match, or recreate them")
    ensure_topics(settings.kafka, specs, timeout=timeout)
    return specs
