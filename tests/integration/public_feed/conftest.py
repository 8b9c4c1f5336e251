"""Fixtures of the feed tests: every open item's topics under a prefix of this module's own, events
written to them, and the feed as a subprocess (stopped by PID)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from feed_support import FeedProcess, Published, start_feed

from govbus.catalogue_topics import sync_topics
from govbus.topic_names import canonical_topic
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, change_scenario
from testsupport.connections import kafka_at


@pytest.fixture(scope="module")
def feed_env(kafka_bootstrap: str, registry_url: str) -> dict[str, str]:
    return {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": f"govbus.t-{uuid.uuid4().hex[:10]}"}


@pytest.fixture(scope="module")
def published(feed_env: dict[str, str], kafka_bootstrap: str, registry_url: str) -> Iterator[Published]:
    """Every open item's topics, with inserts, updates, deletes and tombstones written to them; and an
    item that is not open (identity verification) with events of its own, which the feed must ignore."""
    prefix = feed_env["GOVBUS_TOPIC_PREFIX"]
    catalogue = load_catalogue()
    items = [item for item in catalogue if item.open_to_public] + [catalogue.get("identity_verification")]
    sync_topics(kafka_at(kafka_bootstrap), items, prefix, partitions=2)
    published = Published()
    for seed, item in enumerate(items):
        published.items[item.name] = item
        published.writers[item.name] = CanonicalWriter(kafka_bootstrap, registry_url, item,
                                                       canonical_topic(item.name, prefix))
        published.write(item.name, change_scenario(item, keys=30, updates=15, deletes=5, tombstones=3, seed=seed))
    yield published
    published.writers.clear()  # their producers go with them


@pytest.fixture(scope="module")
def feeds(feed_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., FeedProcess]]:
    started: list[FeedProcess] = []
    logs = tmp_path_factory.mktemp("feed")

    def start(**env: str) -> FeedProcess:
        process = start_feed({**feed_env, **env}, Path(logs) / f"feed-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def feed(feeds: Callable[..., FeedProcess], published: Published) -> FeedProcess:
    """A feed over every open item, loaded."""
    process = feeds()
    process.wait_loaded(len(published.expected()))
    return process
