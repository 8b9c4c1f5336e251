"""Bring up what a benchmark needs (the broker and registry from the environment, or local ones), and clean up."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import KafkaException

from govbus import clients
from govbus.platform.processes import free_port
from govbus.platform.registry_process import start_registry_process
from testsupport.broker import session_broker
from testsupport.connections import kafka_at


@contextmanager
def platform() -> Iterator[tuple[str, str]]:
    """(bootstrap, registry URL); whatever is started here is stopped by PID on exit."""
    with session_broker() as connection:
        bootstrap = connection.bootstrap
        given = os.environ.get("GOVBUS_REGISTRY__URL")
        if given:
            yield bootstrap, given
            return
        log = Path(tempfile.mkdtemp(prefix="govbus-bench-")) / "registry.log"
        registry = start_registry_process(bootstrap, free_port(), log, topic=f"_bench_schemas_{uuid.uuid4().hex[:6]}")
        try:
            yield bootstrap, registry.url
        finally:
            registry.stop()


def delete_topics(bootstrap: str, tokens: Iterable[str], timeout: float = 60.0) -> int:
    """Delete every topic whose name contains one of ``tokens`` (the unique prefixes and app ids a benchmark made
    up, so its sources, outputs, repartition topics and changelogs); how many were deleted. The broker is
    shared: a benchmark leaves none of its topics behind."""
    marks = [token for token in tokens if token]
    admin = clients.admin(kafka_at(bootstrap))
    names = [name for name in admin.list_topics(timeout=timeout).topics if any(mark in name for mark in marks)]
    if not names:
        return 0
    deleted = 0
    for future in admin.delete_topics(names, operation_timeout=timeout, request_timeout=timeout).values():
        try:
            future.result(timeout=timeout)
            deleted += 1
        except KafkaException:  # already gone: nothing to do
            pass
    return deleted
