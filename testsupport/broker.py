"""Provide a real Kafka broker for a test session.

Order: ``GOVBUS_KAFKA__BOOTSTRAP`` if set; else a local broker from the Maven Central jars
(needs java and mvn); else, where a Docker engine answers, testcontainers' Kafka module.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from govbus.connection import KafkaConnection
from govbus.exceptions import MissingToolError, PlatformError
from govbus.platform import jars, kafka, processes
from govbus.settings import ClientSettings, PlatformSettings
from testsupport.connections import KAFKA_VARIABLES, environment, remember
from testsupport.leftovers import ProcessLedger, stop_leftovers

log = logging.getLogger(__name__)


@contextmanager
def local_broker(settings: PlatformSettings | None = None, secured: bool = True) -> Iterator[KafkaConnection]:
    """A throw-away local KRaft node on free ports (SASL/SCRAM and the authorizer unless ``secured`` is
    false); its administrator's connection. Stopped by PID and deleted on exit."""
    settings = settings or PlatformSettings()
    libs = jars.kafka_libs(settings.cache_dir, settings.kafka_version)
    data_dir = Path(tempfile.mkdtemp(prefix="govbus-kafka-"))
    config = kafka.KafkaNodeConfig(
        data_dir=data_dir, libs=libs, port=processes.free_port(),
        controller_port=processes.free_port(), heap=settings.kafka_heap,
        admin_password=secrets.token_urlsafe(24) if secured else None,
    )
    pid, seconds = kafka.start(config, settings.startup_timeout)
    ledger = ProcessLedger()
    ledger.add(pid, "kafka.Kafka", data_dir)
    log.info("test broker started", extra={"bootstrap": config.bootstrap, "pid": pid, "seconds": round(seconds, 2),
                                           "security": config.admin.security_protocol})
    try:
        yield config.admin
    finally:
        processes.stop_process(pid, timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
        ledger.remove(pid)


@contextmanager
def docker_broker() -> Iterator[str]:
    """Kafka in a container through testcontainers (needs a Docker engine)."""
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("apache/kafka:4.0.0").with_kraft() as container:
        yield container.get_bootstrap_server()


@contextmanager
def session_broker() -> Iterator[KafkaConnection]:
    """The broker a test session should use (see module docstring), as its administrator. Its connection is
    remembered (:func:`testsupport.connections.kafka_at`) and exported as ``GOVBUS_KAFKA__*`` variables for
    the session, so in-process settings and child processes authenticate as a user of the platform would."""
    if os.environ.get("GOVBUS_KAFKA__BOOTSTRAP"):
        with exported(ClientSettings().kafka) as given:
            yield given
        return
    stop_leftovers()  # what test runs killed before their teardown left running
    try:
        with local_broker() as connection, exported(connection):
            yield connection
        return
    except MissingToolError as missing:
        if not docker_available():
            raise PlatformError(f"no broker for the tests: {missing}; or set GOVBUS_KAFKA__BOOTSTRAP") from missing
    with docker_broker() as bootstrap, exported(KafkaConnection(bootstrap=bootstrap)) as connection:
        yield connection


@contextmanager
def exported(connection: KafkaConnection) -> Iterator[KafkaConnection]:
    """``connection`` remembered and in ``os.environ`` (its GOVBUS_KAFKA__* variables) until the exit."""
    remember(connection)
    with environment(KAFKA_VARIABLES, connection.as_env()):
        yield connection


def docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True
