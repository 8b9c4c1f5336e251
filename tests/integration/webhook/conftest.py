"""Fixtures for the webhook connector: a topic prefix and signing secret per test, canonical topics, the
sharing store, and connector processes (stopped by PID at the end)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from webhook_support import GOVBUS, SECRET_ENV, CanonicalWriter

from connectors.webhook.signing_secrets import new_secret
from govbus.platform import processes
from govbus.platform.components import Component, start_component
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE, PseudonymKey
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at


@pytest.fixture
def webhook_env(kafka_bootstrap: str, registry_url: str) -> dict[str, str]:
    """GOVBUS_* variables of this test's connectors: its own prefix, signing secret and platform pseudonym key,
    short timeouts and backoffs."""
    return {
        "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
        "GOVBUS_TOPIC_PREFIX": f"govbus.t-{uuid.uuid4().hex[:10]}", SECRET_ENV: new_secret(),
        PSEUDONYM_KEY_VARIABLE: secrets.token_hex(32),
        "GOVBUS_WEBHOOK_REQUEST_TIMEOUT_SECONDS": "1", "GOVBUS_WEBHOOK_RETRY_INITIAL_SECONDS": "0.05",
        "GOVBUS_WEBHOOK_RETRY_MAX_SECONDS": "0.4", "GOVBUS_WEBHOOK_RETRY_JITTER_SECONDS": "0.1",
        "GOVBUS_WEBHOOK_REFRESH_SECONDS": "1", "GOVBUS_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def prefix(webhook_env: dict[str, str]) -> str:
    return webhook_env["GOVBUS_TOPIC_PREFIX"]


@pytest.fixture
def secret(webhook_env: dict[str, str]) -> str:
    return webhook_env[SECRET_ENV]


@pytest.fixture
def pseudonym_key(webhook_env: dict[str, str]) -> PseudonymKey:
    """The platform's pseudonym key this test's connectors hold (no receiver ever does)."""
    return PseudonymKey(webhook_env[PSEUDONYM_KEY_VARIABLE])


@pytest.fixture
def sharing(kafka_bootstrap: str, prefix: str) -> SharingStore:
    store = SharingStore(kafka_at(kafka_bootstrap), prefix)
    return store


@pytest.fixture
def canonical(kafka_bootstrap: str, prefix: str) -> Callable[..., str]:
    """``canonical("enterprise_registration", partitions=3)`` creates the item's canonical topic."""

    def create(item: str, partitions: int = 3) -> str:
        topic = canonical_topic(item, prefix)
        ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, partitions)])
        return topic

    return create


@pytest.fixture
def writer(kafka_bootstrap: str, registry_url: str, prefix: str) -> CanonicalWriter:
    return CanonicalWriter(kafka_bootstrap, registry_url, prefix)


@pytest.fixture
def connectors(webhook_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Component]]:
    """``connectors("hz", metrics_port, via_cli=False, **env)`` starts a connector process for subscription "hz"
    (``python -m connectors.webhook``, or ``govbus subscriptions run hz``); all are stopped by PID at the end."""
    started: list[Component] = []

    def start(name: str, metrics_port: int, via_cli: bool = False, **env: str) -> Component:
        full = {**webhook_env, "GOVBUS_WEBHOOK_METRICS_PORT": str(metrics_port), **env}
        log = tmp_path / f"{name}-{len(started)}.log"
        if via_cli:
            argv = [*GOVBUS, "--log-level", "INFO", "subscriptions", "run", name]
            component = Component(name, processes.start_process(argv, log, env=full), log)
        else:
            component = start_component(name, "connectors.webhook", {**full, "GOVBUS_WEBHOOK_SUBSCRIPTION": name}, log)
        started.append(component)
        return component

    yield start
    for component in started:
        component.stop(timeout=15)
    assert not any(c.alive() for c in started)
