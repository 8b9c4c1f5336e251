"""Create every catalogue item's topics: department, canonical and dead-letter (`govbus topics sync`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from govbus.connection import KafkaConnection
from govbus.topic_names import item_topics
from govbus.topics import TopicSpec, ensure_topics


class OwnedItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...


def catalogue_topic_names(items: Iterable[OwnedItem], prefix: str) -> list[str]:
    names: list[str] = []
    for item in items:
        names.extend(item_topics(item.department, item.name, prefix).all())
    return names


def sync_topics(kafka: KafkaConnection, items: Iterable[OwnedItem], prefix: str, partitions: int = 3) -> list[str]:
    """Create each missing topic (existing ones are left as they are); return every topic name."""
    names = catalogue_topic_names(items, prefix)
    ensure_topics(kafka, [TopicSpec(name, partitions) for name in names])
    return names
