"""Fixtures of the mirror tests: a private PostgreSQL cluster (module), a database and a topic prefix
per test, canonical topics with a writer, the mirror as a subprocess (stopped by PID)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mirror_support import MirrorProcess, start_mirror

from govbus.catalogue_topics import sync_topics
from govbus.platform.postgres import PrivateCluster, private_cluster
from govbus.topic_names import canonical_topic
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter
from testsupport.connections import kafka_at


@pytest.fixture(scope="module")
def mirror_cluster() -> Iterator[PrivateCluster]:
    """A private cluster of this module's own (the restart test stops and starts it), with fsync and
    synchronous commit on: a crash must not lose a commit whose offsets were committed."""
    with private_cluster(durable=True) as cluster:
        yield cluster


@pytest.fixture
def mirror_dsn(mirror_cluster: PrivateCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    with mirror_cluster.database(request.node.name) as dsn:
        yield dsn


@pytest.fixture
def topic_prefix() -> str:
    return f"govbus.t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def canonical(kafka_bootstrap: str, registry_url: str, topic_prefix: str) -> Callable[..., CanonicalWriter]:
    """``canonical("credit_record", partitions=3)``: the item's topics under this test's prefix, and a
    writer of change events to its canonical topic."""

    def make(item_name: str, partitions: int = 3, event_schema: dict[str, object] | None = None) -> CanonicalWriter:
        item = load_catalogue().get(item_name)
        sync_topics(kafka_at(kafka_bootstrap), [item], topic_prefix, partitions)
        return CanonicalWriter(kafka_bootstrap, registry_url, item, canonical_topic(item_name, topic_prefix),
                               event_schema)

    return make


@pytest.fixture
def mirror(kafka_bootstrap: str, registry_url: str, topic_prefix: str,
           tmp_path: Path) -> Iterator[Callable[..., MirrorProcess]]:
    """``mirror(GOVBUS_MIRROR_ITEM=..., GOVBUS_MIRROR_DSN=...)`` starts ``python -m connectors.pg_mirror``."""
    started: list[MirrorProcess] = []

    def start(**env: str) -> MirrorProcess:
        base = {"GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
                "GOVBUS_TOPIC_PREFIX": topic_prefix, "GOVBUS_MIRROR_BATCH_SIZE": "200"}
        process = start_mirror({**base, **env}, tmp_path / f"mirror-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
