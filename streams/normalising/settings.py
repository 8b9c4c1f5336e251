"""The normaliser's settings: one pydantic-settings model, env prefix ``GOVBUS_``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from govbus.settings import LogLevel
from govbus.topic_names import DEFAULT_PREFIX, TopicPrefix
from schemas.catalogue import load_catalogue
from streams.dialects import ITEMS
from streams.engine import EngineSettings


class NormaliserSettings(EngineSettings):
    """Env ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``, ``GOVBUS_TOPIC_PREFIX``, ``GOVBUS_NORMALISER_*``
    and the engine's ``GOVBUS_STREAMS_*`` (commit interval, state directory, metrics address).

    ``GOVBUS_NORMALISER_ITEMS`` is a comma-separated list of catalogue items (default: every item
    with local dialects); an item without dialects is normalised from its department topic only.
    """

    topic_prefix: TopicPrefix = DEFAULT_PREFIX
    normaliser_items: Annotated[tuple[str, ...], NoDecode] = Field(
        default=ITEMS, description="items to normalise, comma-separated (default: every item with dialects)")
    normaliser_app_id: str = Field(default="govbus-normaliser", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                   description="consumer group, transactional id and changelog topic prefix")
    normaliser_partitions: int = Field(default=3, ge=1, le=1000,
                                       description="partitions of every topic the normaliser reads or writes")
    normaliser_metrics_port: int = Field(default=0, ge=0, le=65535, description="Prometheus port; 0: no endpoint")
    normaliser_dedup: bool = Field(default=True, description="drop re-sent events by event id (see dedup); "
                                   "off only where every producer guarantees unique events")
    normaliser_dedup_window_seconds: float = Field(
        default=3600.0, gt=0, description="a re-sent event id within this time of the first is dropped (see dedup)")
    normaliser_registry_wait_seconds: float = Field(
        default=5.0, gt=0, le=600,
        description="how long a message waits for an unreachable schema registry before the worker stops (without "
                    "committing it; a supervisor restarts it); keep it below GOVBUS_STREAMS_TRANSACTION_TIMEOUT_MS")
    normaliser_sources_interval_seconds: float = Field(
        default=5.0, ge=0, le=3600,
        description="how often each source's newest event time is written to <prefix>.sources (at most once per "
                    "source per interval; operators find silent sources from it); 0: not at all, and every source "
                    "then looks silent or unwatched")
    normaliser_sources_max: int = Field(
        default=10_000, ge=1,
        description="distinct sources (department, item, source system) a worker keeps last events of; events of "
                    "further ones are counted in govbus_normaliser_sources_untracked_events_total, not tracked")
    log_level: LogLevel = "INFO"

    @field_validator("normaliser_items", mode="before")
    @classmethod
    def _split_items(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("normaliser_items")
    @classmethod
    def _known_items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one catalogue item")
        catalogue = load_catalogue()
        for name in value:
            catalogue.get(name)  # raises UnknownDataItemError naming close matches and the known items
        return tuple(dict.fromkeys(value))
