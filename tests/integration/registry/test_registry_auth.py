"""Registry authentication: HTTP Basic with the broker's principals, against a real registry process.

One registry (its own log topic, the session broker) reads a 0600 credentials file; the calls go
through govbus's own clients (confluent-kafka's registry client and httpx, built by
:mod:`govbus.clients.registry`) or raw httpx when a test needs to send something a client would not.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError
from pydantic import SecretStr

from govbus import clients
from govbus.connection import RegistryConnection
from govbus.exceptions import RegistryError
from govbus.identities import user_name
from govbus.platform.processes import free_port
from govbus.platform.registry_process import RegistryProcess, start_registry_process
from govbus.serde import WireEncoder
from govbus.topic_names import canonical_topic, department_topic, local_topic, value_subject
from testsupport.leftovers import ProcessLedger

PRINCIPALS = ("admin", "operator", "department:taxation", "department:market-regulation", "subscriber:x")
TAXATION = "department:taxation"


def record(name: str) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": "v", "type": "int"}]}


def avro(name: str) -> Schema:
    return Schema(json.dumps(record(name)), "AVRO")


def body(name: str) -> dict[str, str]:
    return {"schema": json.dumps(record(name))}


def write_credentials(path: Path, passwords: dict[str, str]) -> None:
    """As the platform does: a 0600 file, replaced in one step."""
    entries = {key: {"username": user_name(key), "password": pw} for key, pw in passwords.items()}
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(json.dumps(entries))
    temporary.replace(path)


@dataclass
class Secured:
    registry: RegistryProcess
    topic: str
    credentials: Path
    passwords: dict[str, str]
    prefix: str

    @property
    def url(self) -> str:
        return self.registry.url

    def connection(self, key: str, url: str | None = None) -> RegistryConnection:
        return RegistryConnection(url=url or self.url, username=user_name(key),
                                  password=SecretStr(self.passwords[key]))

    def http(self, key: str, url: str | None = None) -> httpx.Client:
        return clients.registry_http(self.connection(key, url), timeout=30)

    def subjects(self) -> list[str]:
        with self.http("admin") as http:
            answer = http.get("/subjects", params={"deleted": "true"})
        assert answer.status_code == 200, answer.text
        return sorted(answer.json())

    def dept_subject(self, department: str, item: str) -> str:
        return value_subject(department_topic(department, item, self.prefix))


@pytest.fixture(scope="module")
def secured(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    directory = tmp_path_factory.mktemp("registry-auth")
    credentials = directory / "credentials.json"
    passwords = {key: secrets.token_urlsafe(16) for key in PRINCIPALS}
    write_credentials(credentials, passwords)
    topic = f"_govbus_schemas_auth_{uuid.uuid4().hex[:10]}"
    registry = start_registry_process(kafka_bootstrap, free_port(), directory / "registry.log", topic=topic,
                                      credentials_file=credentials)
    ledger = ProcessLedger()
    ledger.add(registry.pid, "schemas.registry")
    try:
        yield Secured(registry, topic, credentials, passwords, f"govbus.test-{uuid.uuid4().hex[:6]}")
    finally:
        registry.stop()
        ledger.remove(registry.pid)


def assert_unauthenticated(answer: httpx.Response, *secrets_not_shown: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="govbus-registry"'
    assert answer.json()["error_code"] == 40101
    assert "GOVBUS_REGISTRY__USERNAME" in answer.json()["message"]
    for secret in secrets_not_shown:
        assert secret not in answer.text


def assert_forbidden(answer: httpx.Response, *words: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["error_code"] == 40301
    for word in words:
        assert word in answer.json()["message"], answer.text


def test_without_credentials_only_the_root_and_metrics_answer(secured: Secured) -> None:
    subject = secured.dept_subject("taxation", "anonymous")
    with httpx.Client(base_url=secured.url, timeout=30) as anonymous:
        assert anonymous.get("/").status_code == 200
        assert anonymous.get("/metrics").status_code == 200
        assert_unauthenticated(anonymous.get("/subjects"))
        assert_unauthenticated(anonymous.get("/schemas/ids/1"))
        assert_unauthenticated(anonymous.get("/no/such/endpoint"))
        assert_unauthenticated(anonymous.post(f"/subjects/{subject}/versions", json=body("Anonymous")))
        assert_unauthenticated(anonymous.get("/subjects", headers={"Authorization": "Bearer abc"}))
    # what a govbus client without GOVBUS_REGISTRY__USERNAME / __PASSWORD sees
    with pytest.raises(SchemaRegistryError) as caught:
        clients.registry_client(RegistryConnection(url=secured.url)).get_subjects()
    assert caught.value.http_status_code == 401 and caught.value.error_code == 40101
    assert "GOVBUS_REGISTRY__PASSWORD" in caught.value.error_message
    assert subject not in secured.subjects()


def test_a_wrong_password_or_unknown_user_is_refused_without_echoing_it(secured: Secured) -> None:
    wrong = "not-" + secured.passwords[TAXATION]
    for user, password in ((user_name(TAXATION), wrong), ("department.nobody", secured.passwords[TAXATION]),
                           (user_name(TAXATION), "")):
        with httpx.Client(base_url=secured.url, auth=(user, password), timeout=30) as http:
            assert_unauthenticated(http.get("/subjects"), wrong, secured.passwords[TAXATION])
    token = base64.b64encode(f"{user_name(TAXATION)}:{wrong}".encode()).decode()
    answer = httpx.get(f"{secured.url}/subjects", headers={"Authorization": f"Basic {token}"}, timeout=30)
    assert_unauthenticated(answer, wrong, token)


def test_a_department_registers_its_own_subjects_and_everyone_reads(secured: Secured) -> None:
    own = secured.dept_subject("taxation", "tax-return")
    local = value_subject(local_topic("taxation", "tax_return", "old-system", secured.prefix))
    taxation = clients.registry_client(secured.connection(TAXATION))
    schema_id = taxation.register_schema(own, avro("TaxReturn"))
    assert taxation.register_schema(local, avro("OldTaxReturn")) != schema_id
    with secured.http(TAXATION) as http:  # the key subject of its topic too
        key = http.post(f"/subjects/{own[: -len('-value')]}-key/versions", json={"schema": '"string"'})
        assert key.status_code == 200, key.text

    for reader in ("subscriber:x", "department:market-regulation", "operator"):
        client = clients.registry_client(secured.connection(reader))
        assert client.get_latest_version(own).schema_id == schema_id
        assert client.get_schema(schema_id).schema_str is not None
        assert own in client.get_subjects()
        assert client.lookup_schema(own, avro("TaxReturn")).version == 1  # POST /subjects/{s}: a read
        assert client.test_compatibility(own, avro("TaxReturn"))  # POST /compatibility/...: a read


def test_a_department_may_not_register_another_departments_or_canonical_subjects(secured: Secured) -> None:
    others = [secured.dept_subject("market-regulation", "licence"),
              value_subject(canonical_topic("tax_return", secured.prefix)),
              f"{secured.prefix}.profile.enterprise-value",
              "people-value"]
    before = secured.subjects()
    with secured.http(TAXATION) as http:
        for subject in others:
            assert_forbidden(http.post(f"/subjects/{subject}/versions", json=body("Foreign")),
                             TAXATION, subject, "ask an operator")
    with secured.http("subscriber:x") as http:
        assert_forbidden(http.post(f"/subjects/{others[0]}/versions", json=body("Foreign")), "subscriber:x")
    # what a department's Publisher sees when it is pointed at the wrong subject
    with pytest.raises(RegistryError, match="may not register schemas under subject") as caught:
        WireEncoder(clients.registry_client(secured.connection(TAXATION)), others[1], record("Foreign"))
    assert "40301" in str(caught.value)
    assert secured.subjects() == before

    with secured.http("department:market-regulation") as http:  # the owner may
        assert http.post(f"/subjects/{others[0]}/versions", json=body("Licence")).status_code == 200
    operator = clients.registry_client(secured.connection("operator"))
    assert operator.register_schema(others[1], avro("Canonical")) > 0
    assert clients.registry_client(secured.connection("admin")).register_schema(others[2], avro("Profile")) > 0


def test_config_mode_and_deletes_are_for_operators(secured: Secured) -> None:
    subject = secured.dept_subject("taxation", "payment")
    assert clients.registry_client(secured.connection(TAXATION)).register_schema(subject, avro("Payment")) > 0

    def state() -> list[Any]:
        with secured.http("admin") as admin:
            return [admin.get(path).json() for path in ("/config", "/mode", f"/subjects/{subject}/versions",
                                                        f"/config/{subject}", f"/mode/{subject}")]

    before = state()
    attempts = [("DELETE", f"/subjects/{subject}", None), ("DELETE", f"/subjects/{subject}/versions/1", None),
                ("PUT", "/config", {"compatibility": "NONE"}), ("PUT", f"/config/{subject}", {"compatibility": "NONE"}),
                ("DELETE", f"/config/{subject}", None), ("PUT", "/mode", {"mode": "READONLY"}),
                ("PUT", f"/mode/{subject}", {"mode": "READONLY"})]
    with httpx.Client(base_url=secured.url, timeout=30) as anonymous, secured.http(TAXATION) as taxation, \
            secured.http("subscriber:x") as subscriber:
        for method, path, payload in attempts:
            assert_unauthenticated(anonymous.request(method, path, json=payload))
            assert_forbidden(taxation.request(method, path, json=payload), TAXATION, f"{method} {path}",
                             "operators only")
            assert_forbidden(subscriber.request(method, path, json=payload), "subscriber:x")
    assert state() == before

    with secured.http("operator") as operator:
        assert operator.put(f"/mode/{subject}", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
        assert operator.put(f"/config/{subject}", json={"compatibility": "FULL"}).status_code == 200
        assert operator.delete(f"/config/{subject}").status_code == 200
        assert operator.delete(f"/mode/{subject}").status_code == 200
        assert operator.delete(f"/subjects/{subject}").json() == [1]
    with secured.http("admin") as admin:
        assert admin.put("/config", json={"compatibility": "BACKWARD"}).status_code == 200
        assert admin.delete(f"/subjects/{subject}", params={"permanent": "true"}).json() == [1]
    assert subject not in secured.subjects()


def test_a_principal_added_to_the_file_later_is_let_in(secured: Secured) -> None:
    newcomer = "department:ecology"
    with httpx.Client(base_url=secured.url, auth=(user_name(newcomer), "eco-pw-1"), timeout=30) as http:
        assert_unauthenticated(http.get("/subjects"))
        write_credentials(secured.credentials, {**secured.passwords, newcomer: "eco-pw-1"})
        assert http.get("/subjects").status_code == 200
        subject = secured.dept_subject("ecology", "emission")
        assert http.post(f"/subjects/{subject}/versions", json=body("Emission")).status_code == 200


def test_a_follower_forwards_the_callers_credentials(
    secured: Secured, kafka_bootstrap: str, tmp_path: Path
) -> None:
    follower = start_registry_process(kafka_bootstrap, free_port(), tmp_path / "follower.log",
                                      topic=secured.topic, credentials_file=secured.credentials)
    ledger = ProcessLedger()
    ledger.add(follower.pid, "schemas.registry")
    try:
        metrics = httpx.get(f"{follower.url}/metrics", timeout=10).text
        assert re.search(r"^govbus_registry_is_primary 0", metrics, re.MULTILINE), metrics  # writes are forwarded
        own = secured.dept_subject("taxation", "forwarded")
        via_follower = clients.registry_client(secured.connection(TAXATION, follower.url))
        assert via_follower.register_schema(own, avro("Forwarded")) > 0  # the primary let the department in
        with secured.http(TAXATION, follower.url) as taxation:
            foreign = secured.dept_subject("market-regulation", "forwarded")
            assert_forbidden(taxation.post(f"/subjects/{foreign}/versions", json=body("Foreign")), TAXATION)
            assert_forbidden(taxation.put("/config", json={"compatibility": "NONE"}), TAXATION)
        with httpx.Client(base_url=follower.url, timeout=30) as anonymous:
            assert_unauthenticated(anonymous.post(f"/subjects/{own}/versions", json=body("Forwarded")))
        with secured.http("operator", follower.url) as operator:
            assert operator.put(f"/config/{own}", json={"compatibility": "FULL"}).status_code == 200
            assert operator.get(f"/config/{own}").json() == {"compatibilityLevel": "FULL"}
        assert own in secured.subjects() and foreign not in secured.subjects()
    finally:
        follower.stop()
        ledger.remove(follower.pid)
