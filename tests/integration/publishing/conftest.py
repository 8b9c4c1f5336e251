"""Fixtures for the publishing paths: a unique topic prefix with the needed items' topics created."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from govbus.catalogue_topics import sync_topics
from govbus.topic_names import department_topic
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at


@pytest.fixture
def platform_env(kafka_bootstrap: str, registry_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """GOVBUS_* variables for this test: the session broker and registry, a topic prefix of its own."""
    env = {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
           "GOVBUS_TOPIC_PREFIX": f"govbus.t-{uuid.uuid4().hex[:10]}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def item_topics(platform_env: dict[str, str], kafka_bootstrap: str) -> Callable[..., str]:
    """``item_topics("enterprise_registration", partitions=2, config=...)`` creates that item's topics
    under this test's prefix and returns its department topic."""

    def create(item: str, partitions: int = 2, config: dict[str, str] | None = None) -> str:
        catalogue_item = load_catalogue().get(item)
        prefix = platform_env["GOVBUS_TOPIC_PREFIX"]
        topic = department_topic(catalogue_item.department, item, prefix)
        if config:
            from govbus.topics import TopicSpec, ensure_topics

            ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, partitions, config)])
        sync_topics(kafka_at(kafka_bootstrap), [catalogue_item], prefix, partitions)
        return topic

    return create
