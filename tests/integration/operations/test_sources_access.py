"""Who may do what with ``<prefix>.sources`` on the session's secured broker, each party as its own principal with
only the ACLs govbus gives it (:mod:`govbus.sharing.processor_access`, :mod:`govbus.sharing.principals`):

- the normaliser creates the topic, starts from what it holds and writes its heartbeats to it;
- the operator reads it (``govbus sources silent`` and ``govbus systems list`` run as the operator) and writes
  nothing to it;
- a department may neither write a heartbeat (it could make a silent system of its own look alive) nor read it.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaException

from govbus import clients
from govbus.cli import main
from govbus.connection import KafkaConnection
from govbus.identities import principal_key, user_name
from govbus.last_events import read_last_events
from govbus.sharing import principals
from govbus.sharing.processor_access import NORMALISER, operator_acls, operator_user, processor_acls, processor_user
from govbus.topic_names import sources_topic
from govbus.topics import ensure_topics
from streams.normalising.heartbeat import KafkaSink, SourceHeartbeat
from streams.normalising.topics import sources_topic_spec
from testsupport.connections import kafka_at, produce_one

ITEM = "enterprise_registration"
DEPARTMENT = "market-regulation"
REFUSED = "TOPIC_AUTHORIZATION_FAILED"


@dataclass(frozen=True)
class Parties:
    prefix: str
    app_id: str
    normaliser: KafkaConnection
    operator: KafkaConnection
    department: KafkaConnection

    @property
    def topic(self) -> str:
        return sources_topic(self.prefix)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def parties(kafka_bootstrap: str) -> Parties:
    admin = kafka_at(kafka_bootstrap)
    assert admin.uses_sasl, "the session's broker is secured"
    suffix = uuid.uuid4().hex[:6]
    prefix, app_id = f"govbus.src-{suffix}", f"normaliser-{suffix}"
    users = {processor_user(NORMALISER): secrets.token_urlsafe(18), operator_user(): secrets.token_urlsafe(18),
             user_name(principal_key("department", DEPARTMENT)): secrets.token_urlsafe(18)}
    principals.provision(admin, users, [*processor_acls(NORMALISER, prefix, app_id), *operator_acls(prefix),
                                        *principals.department_acls(DEPARTMENT, prefix)])
    normaliser, operator, department = (admin.with_credentials(user, password) for user, password in users.items())
    return Parties(prefix, app_id, normaliser, operator, department)


def _ensure_as_normaliser(parties: Parties) -> bool:
    try:  # its ACLs may still be on their way to the broker's authorizer
        ensure_topics(parties.normaliser, [sources_topic_spec(parties.prefix)], timeout=10)
        return True
    except Exception:
        return False


def test_the_normaliser_creates_reads_and_writes_it_the_operator_reads_it(parties: Parties) -> None:
    _wait(lambda: _ensure_as_normaliser(parties), "the normaliser to create its heartbeat topic")
    assert read_last_events(parties.normaliser, parties.prefix).sources == {}  # what a starting worker reads
    sink = KafkaSink(clients.producer(parties.normaliser), parties.topic)
    beat = SourceHeartbeat(sink, parties.app_id, [ITEM], interval=3600, max_sources=10)
    beat.note(DEPARTMENT, ITEM, "registration-db", int(time.time() * 1000))
    beat.stop()
    assert sink.failures == 0

    last = read_last_events(parties.operator, parties.prefix)
    assert [s.source_system for s in last.sources.values()] == ["registration-db"]
    assert list(last.watchers) == [f"watcher/{parties.app_id}"]
    env = {**parties.operator.as_env(), "GOVBUS_TOPIC_PREFIX": parties.prefix}
    for command in (["sources", "silent", "--json"], ["systems", "list", "--json"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["warnings"] == []


def test_a_department_may_neither_write_nor_read_it_and_the_operator_writes_nothing(parties: Parties) -> None:
    _wait(lambda: _ensure_as_normaliser(parties), "the heartbeat topic")
    assert produce_one(parties.department, parties.topic) == REFUSED, "a department forges a heartbeat"
    with pytest.raises(Exception, match=r"refused reading|may not describe"):
        read_last_events(parties.department, parties.prefix, timeout=15)
    try:
        outcome = produce_one(parties.operator, parties.topic)
    except KafkaException as error:  # a principal that may write no topic at all gets no producer id
        outcome = error.args[0].name()
    assert outcome in (REFUSED, "CLUSTER_AUTHORIZATION_FAILED"), outcome
