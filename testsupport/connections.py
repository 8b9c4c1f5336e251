"""Connections of the test platform, for tests that were handed a bare address by a fixture."""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from govbus import clients, identities
from govbus.connection import KafkaConnection, RegistryConnection

KAFKA_VARIABLES = "GOVBUS_KAFKA__"
REGISTRY_VARIABLES = "GOVBUS_REGISTRY__"
_known_brokers: dict[str, KafkaConnection] = {}
_known_registries: dict[str, RegistryConnection] = {}


def remember(connection: KafkaConnection | RegistryConnection) -> None:
    """Let :func:`kafka_at` / :func:`registry_at` hand out ``connection`` (with its credentials) for its address."""
    if isinstance(connection, KafkaConnection):
        _known_brokers[connection.bootstrap] = connection
    else:
        _known_registries[connection.url] = connection


def kafka_at(bootstrap: str) -> KafkaConnection:
    """The test broker at ``bootstrap``, as the session's administrator when the session started it secured."""
    return _known_brokers.get(bootstrap) or KafkaConnection(bootstrap=bootstrap)


def without_session(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the test session's connection variables: for a command that is to find (or start)
    a platform of its own."""
    return {name: value for name, value in env.items() if not name.startswith((KAFKA_VARIABLES, REGISTRY_VARIABLES))}


def produce_one(connection: KafkaConnection, topic: str, value: bytes = b"x") -> str | None:
    """Write one record as ``connection``'s principal: None if the broker stored it, else its error's name
    (``TOPIC_AUTHORIZATION_FAILED`` ...) or ``no answer``."""
    return produce_key(connection, topic, None, value)


def produce_key(connection: KafkaConnection, topic: str, key: str | None, value: bytes | None) -> str | None:
    """:func:`produce_one` with a record key."""
    producer = clients.producer(connection, {"message.timeout.ms": 10_000, "log_level": 0})
    errors: list[str] = []
    producer.produce(topic, key=key.encode() if key is not None else None, value=value,
                     on_delivery=lambda error, _m: errors.append(error.name()) if error else None)
    left = producer.flush(15)
    return errors[0] if errors else ("no answer" if left else None)


def registry_at(url: str) -> RegistryConnection:
    """The test registry at ``url``, as the session's administrator when it needs credentials."""
    return _known_registries.get(url) or RegistryConnection(url=url)


def read_first(connection: KafkaConnection, topic: str, timeout: float = 15.0) -> bytes | str:
    """The first record of partition 0 of ``topic`` read as ``connection``'s principal (no consumer group), or
    the name of the broker's refusal (``TOPIC_AUTHORIZATION_FAILED`` ...), or ``nothing`` if none came."""
    consumer = clients.consumer(connection, f"read-first-{uuid.uuid4().hex[:8]}",
                                {"enable.auto.commit": False, "log_level": 0})
    try:
        listed = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if listed is None or listed.error is not None:  # a topic it may not describe: refused at metadata
            return str(listed.error.name()) if listed is not None and listed.error is not None else "no metadata"
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is None:
                return message.value() or b""
            if error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                continue  # the client's group coordinator lookup; reading assigned partitions needs no group
            if error.fatal() or not error.retriable() or error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                return str(error.name())
        return "nothing"
    finally:
        consumer.close()


def session_credentials(admin: KafkaConnection, directory: Path) -> tuple[Path, RegistryConnection]:
    """A 0600 credentials file in ``directory`` holding the session's administrator (the broker's password when
    it has one, else a random one), and the registry connection of that administrator (its URL still empty)."""
    password = admin.password.get_secret_value() if admin.password is not None else secrets.token_urlsafe(24)
    path = directory / "credentials.json"
    _write_credentials(path, {identities.ADMIN: {"username": identities.ADMIN, "password": password}})
    _session_files.append(path)
    return path, RegistryConnection(url="http://127.0.0.1", username=identities.ADMIN, password=password)


@contextmanager
def exported_registry(connection: RegistryConnection) -> Iterator[RegistryConnection]:
    """``connection`` remembered and its credentials in ``os.environ`` (GOVBUS_REGISTRY__USERNAME, __PASSWORD)
    until the exit."""
    remember(connection)
    with environment(REGISTRY_VARIABLES, {
            "GOVBUS_REGISTRY__USERNAME": connection.username or "",
            "GOVBUS_REGISTRY__PASSWORD": connection.password.get_secret_value() if connection.password else ""}):
        yield connection


@contextmanager
def environment(prefix: str, values: dict[str, str]) -> Iterator[None]:
    """``os.environ``'s variables starting with ``prefix`` replaced by ``values`` until the exit, then restored."""
    saved = {name: value for name, value in os.environ.items() if name.startswith(prefix)}
    for name in saved:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        for name in [n for n in os.environ if n.startswith(prefix)]:
            del os.environ[name]
        os.environ.update(saved)

_session_files: list[Path] = []


def _write_credentials(path: Path, entries: dict[str, dict[str, str]]) -> None:
    """A 0600 credentials file, replaced in one step (as the platform writes it)."""
    staged = path.with_suffix(".tmp")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(entries, file)
    staged.replace(path)


@contextmanager
def registry_principals(passwords: dict[str, str]) -> Iterator[None]:
    """The session registry lets these principals (key -> password) in until the exit (it re-reads its
    credentials file when the file changes)."""
    path = _session_files[-1]
    before = json.loads(path.read_text(encoding="utf-8"))
    _write_credentials(path, {**before, **{key: {"username": identities.user_name(key), "password": password}
                                           for key, password in passwords.items()}})
    try:
        yield
    finally:
        _write_credentials(path, before)
