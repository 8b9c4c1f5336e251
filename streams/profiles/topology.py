"""Settings of the profile builder and every topic it needs, created explicitly.

Topics (``P`` = ``GOVBUS_PROFILES_PARTITIONS``, the same for all but faust's leader topic):

==========================================  ===  =========  =====================================
topic                                       P    policy     what
==========================================  ===  =========  =====================================
``<prefix>.canonical.<item>``               P    delete     input, written by the normaliser
``<app>-anchors-<item>-changelog``          P    compact    re-key table: profile keys per record
``<app>-<profile>-input``                   P    delete     canonical events re-keyed by profile key
``<app>-<profile>-profile-changelog``       P    compact    profile table: state per profile key
``<prefix>.profile.<profile>``              P    compact    the profiles (tombstone = gone)
``<app>-__assignor-__leader``               1    delete     faust's leader election
==========================================  ===  =========  =====================================

A faust table must have as many changelog partitions as its source topic has partitions, so the
canonical topics must have ``P`` partitions too; :func:`ensure_profile_topics` refuses to start
against topics of another count instead of letting faust crash later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from pydantic import Field

from govbus.exceptions import ConfigurationError
from govbus.settings import GovbusSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN, canonical_topic, item_segment, profile_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue.profiles import PROFILE_NAMES, ProfileDefinition, load_profile
from streams.profiles.routing import needs_history, routes_for

COMPACT = {"cleanup.policy": "compact"}


def _default_data_dir() -> Path:
    return Path.home() / ".govbus" / "profiles"


class ProfileSettings(GovbusSettings):
    """Settings of ``python -m streams.profiles`` (env ``GOVBUS_PROFILES_*``, ``GOVBUS_TOPIC_PREFIX`` ...)."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8081"
    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN)
    profiles_app_id: str = Field(default="govbus-profiles", pattern=r"^[a-zA-Z0-9._-]+$",
                                 description="faust app id: consumer group and prefix of internal topics")
    profiles_names: tuple[str, ...] = Field(default=PROFILE_NAMES, description="profiles to build (JSON list)")
    profiles_partitions: int = Field(default=3, ge=1, le=1000)
    profiles_rekey: bool = Field(default=True, description="run the re-key stage (canonical -> input topics)")
    profiles_build: bool = Field(default=True, description="run the build stage (input topics -> profiles)")
    profiles_input_app_id: str | None = Field(
        default=None, description="read the input topics of this app id (default: our own); to rebuild elsewhere")
    profiles_output_prefix: str | None = Field(
        default=None, pattern=PREFIX_PATTERN, description="prefix of the profile topics (default: topic_prefix)")
    profiles_batch_size: int = Field(default=500, ge=1, description="build stage: events per batch at most")
    profiles_batch_seconds: float = Field(default=0.05, gt=0, description="build stage: wait this long for a batch")
    profiles_commit_interval: float = Field(default=1.0, gt=0, description="seconds between offset commits")
    profiles_offset_gap_check: bool = Field(
        default=True, description="stop when the consumer skips offsets (turn off for compacted or "
                                  "transactionally written canonical topics, whose offsets have gaps)")
    profiles_stall_seconds: float = Field(
        default=30.0, gt=0, description="stop the worker (exit 70) when table recovery reads nothing, or waiting "
                                        "records are not handled, for this long (faust can hang after a rebalance "
                                        "or restart); a supervisor restarts it")
    profiles_metrics_port: int = Field(default=0, ge=0, le=65535, description="/metrics port; 0: none")
    profiles_web_port: int = Field(default=0, ge=0, le=65535, description="faust's web server port; 0: off")
    profiles_data_dir: Path = Field(default_factory=_default_data_dir, description="faust's data directory")
    log_level: str = "INFO"

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

    def input_topic(self, profile: str) -> str:
        return f"{self.settings.profiles_input_app_id or self.app_id}-{profile}-input"

    def output_topic(self, profile: str) -> str:
        return profile_topic(profile, self.settings.profiles_output_prefix or self.settings.topic_prefix)

    @staticmethod
    def anchors_table(item: str) -> str:
        return f"anchors-{item_segment(item)}"

    @staticmethod
    def profile_table(profile: str) -> str:
        return f"{profile}-profile"

    def changelog_topic(self, table: str) -> str:
        """faust's name for the changelog of ``table``."""
        return f"{self.app_id}-{table}-changelog"

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
            specs += [TopicSpec(self.changelog_topic(self.anchors_table(item)), partitions, dict(COMPACT))
                      for item in self.history_items()]
        specs += [TopicSpec(self.input_topic(name), partitions) for name in names]
        if self.settings.profiles_build:
            specs += [TopicSpec(self.changelog_topic(self.profile_table(name)), partitions, dict(COMPACT))
                      for name in names]
            specs += [TopicSpec(self.output_topic(name), partitions, dict(COMPACT)) for name in names]
        specs.append(TopicSpec(f"{self.app_id}-__assignor-__leader", 1))
        return specs


def ensure_profile_topics(settings: ProfileSettings, timeout: float = 30.0) -> list[TopicSpec]:
    """Create the missing topics of the app; refuse existing ones with another partition count."""
    specs = ProfileTopology(settings).topic_specs()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = admin.list_topics(timeout=timeout).topics
    wrong = [f"{s.name} has {len(existing[s.name].partitions)}, needs {s.partitions}"
             for s in specs if s.name in existing and len(existing[s.name].partitions) != s.partitions]
    if wrong:
        raise ConfigurationError(
            "topics of the profile builder have the wrong number of partitions: " + "; ".join(wrong)
            + ". A table's changelog must have as many partitions as its source topic: set "
            "GOVBUS_PROFILES_PARTITIONS to the canonical topics' count (and use a new GOVBUS_PROFILES_APP_ID "
            "if its internal topics were created with another count)")
    ensure_topics(settings.kafka_bootstrap, specs, timeout=timeout)
    return specs
