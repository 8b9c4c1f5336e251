"""Settings of the profile builder and every topic it needs, created explicitly.

Topics (``P`` = ``GOVBUS_PROFILES_PARTITIONS``):

====================================================================  =========  ==================================
topic                                                                 policy     what
====================================================================  =========  ==================================
``<prefix>.canonical.<item>``                                         delete     input, written by the normaliser
``changelog__<app>--<prefix>.canonical.<item>--default``              compact    re-key state: profile keys per
                                                                                 record (items fed through a field)
``<app>-<profile>-repartition``                                       delete     canonical events re-keyed by
                                                                                 profile key
``changelog__<app>--<app>-<profile>-repartition--default``            compact    build state per profile key
``<prefix>.profile.<profile>``                                        compact    the profiles (tombstone = gone)
====================================================================  =========  ==================================

Every one has ``P`` partitions: a step's state store is partitioned as its input topic, and its
changelog must match. :func:`ensure_profile_topics` (also run by ``govbus topics sync``) creates
them in one batch (the broker's auto-creation stays off) and refuses to start against existing
topics of another count. The changelog names are Quix Streams' (:func:`streams.engine.changelog_topic`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from govbus import clients
from govbus.exceptions import ConfigurationError
from govbus.settings import LogLevel
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN, TopicPrefix, canonical_topic, profile_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue.profiles import PROFILE_NAMES, ProfileDefinition, load_profile
from streams.engine import EngineSettings, changelog_topic
from streams.profiles.routing import needs_history, routes_for

COMPACT = {"cleanup.policy": "compact"}


class ProfileSettings(EngineSettings):
    """Settings of ``python -m streams.profiles`` (env ``GOVBUS_PROFILES_*``, ``GOVBUS_TOPIC_PREFIX``, and the
    engine's ``GOVBUS_STREAMS_*``: commit interval, state directory, metrics address ...)."""

    topic_prefix: TopicPrefix = DEFAULT_PREFIX
    profiles_app_id: str = Field(default="govbus-profiles", pattern=r"^[a-zA-Z0-9._-]+$",
                                 description="consumer group, and prefix of the repartition and changelog topics")
    profiles_names: tuple[str, ...] = Field(default=PROFILE_NAMES, description="profiles to build (JSON list)")
    profiles_partitions: int = Field(default=3, ge=1, le=1000,
                                     description="partitions of the repartition, changelog and profile topics")
    profiles_rekey: bool = Field(default=True, description="run the re-key stage (canonical -> input topics)")
    profiles_build: bool = Field(default=True, description="run the build stage (input topics -> profiles)")
    profiles_input_app_id: str | None = Field(
        default=None, description="read the repartition topics of this app id (default: our own); to rebuild elsewhere")
    profiles_output_prefix: str | None = Field(
        default=None, pattern=PREFIX_PATTERN, description="prefix of the profile topics (default: topic_prefix)")
    profiles_metrics_port: int = Field(default=0, ge=0, le=65535, description="/metrics port; 0: none")
    log_level: LogLevel = "INFO"

    def definitions(self) -> list[ProfileDefinition]:
        return [load_profile(name) for name in self.profiles_names]


@dataclass(frozen=True)
class ProfileTopology:
    """Names of every topic and table of one profile app."""

    settings: ProfileSettings

    @property
    def app_id(self) -> str:
        return self.settings.profiles_app_id

    def source_items(self) -> list[str]:
        return list(dict.fromkeys(item for d in self.settings.definitions() for item in d.items))

    def canonical_topic(self, item: str) -> str:
        return canonical_topic(item, self.settings.topic_prefix)

    def repartition_topic(self, profile: str) -> str:
        """The canonical events of ``profile``'s items, re-keyed by profile key (written by the re-key step)."""
        return f"{self.settings.profiles_input_app_id or self.app_id}-{profile}-repartition"

    def output_topic(self, profile: str) -> str:
        return profile_topic(profile, self.settings.profiles_output_prefix or self.settings.topic_prefix)

    def changelog_topic(self, source: str) -> str:
        """The changelog of the state of the step reading ``source``."""
        return changelog_topic(self.app_id, source)

    def history_items(self) -> list[str]:
        """Items whose re-keying needs the history table (they feed a side through a field)."""
        definitions = self.settings.definitions()
        return [item for item in self.source_items() if needs_history(routes_for(item, definitions))]

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic this app reads or writes, with partitions and cleanup policy."""
        partitions = self.settings.profiles_partitions
        specs: list[TopicSpec] = []
        names = [d.name for d in self.settings.definitions()]
        if self.settings.profiles_rekey:
            specs += [TopicSpec(self.canonical_topic(item), partitions) for item in self.source_items()]
            specs += [TopicSpec(self.changelog_topic(self.canonical_topic(item)), partitions, dict(COMPACT))
                      for item in self.history_items()]
        specs += [TopicSpec(self.repartition_topic(name), partitions) for name in names]
        if self.settings.profiles_build:
            specs += [TopicSpec(self.changelog_topic(self.repartition_topic(name)), partitions, dict(COMPACT))
                      for name in names]
            specs += [TopicSpec(self.output_topic(name), partitions, dict(COMPACT)) for name in names]
        return specs


def ensure_profile_topics(settings: ProfileSettings, timeout: float = 30.0) -> list[TopicSpec]:
    """Create the missing topics of the app; refuse existing ones with another partition count."""
    specs = ProfileTopology(settings).topic_specs()
    admin = clients.admin(settings.kafka)
    existing = admin.list_topics(timeout=timeout).topics
    wrong = [f"{s.name} has {len(existing[s.name].partitions)}, needs {s.partitions}"
             for s in specs if s.name in existing and len(existing[s.name].partitions) != s.partitions]
    if wrong:
        raise ConfigurationError(
            "topics of the profile builder have the wrong number of partitions: " + "; ".join(wrong)
            + ". A state store's changelog must have as many partitions as its input topic: set "
            "GOVBUS_PROFILES_PARTITIONS to the canonical topics' count (and use a new GOVBUS_PROFILES_APP_ID "
            "if its internal topics were created with another count)")
    ensure_topics(settings.kafka, specs, timeout=timeout)
    return specs
