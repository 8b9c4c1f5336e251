"""`govbus dev up|status|down` as a user runs them: real processes, free ports, a private home."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.platform.processes import free_port, is_alive
from govbus.topic_names import department_topic
from schemas.catalogue import load_catalogue
from testsupport.connections import produce_one, without_session


def _govbus(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def platform_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**without_session(dict(os.environ)), "GOVBUS_HOME": str(tmp_path / "home"),
           "GOVBUS_KAFKA_PORT": str(free_port()), "GOVBUS_CONTROLLER_PORT": str(free_port()),
           "GOVBUS_REGISTRY_PORT": str(free_port())}
    yield env
    _govbus(env, "dev", "down")  # stops by PID whatever a failed assertion left running


def _metrics(status: dict[str, str]) -> str:
    try:
        return httpx.get(status["exporter_metrics_url"], timeout=5).text
    except httpx.HTTPError:
        return ""


def test_up_status_down(platform_env: dict[str, str]) -> None:
    platform_env["GOVBUS_SECURITY"] = "none"  # the open platform, still available as a setting
    up = _govbus(platform_env, "dev", "up")
    assert up.returncode == 0, up.stderr
    status = json.loads(_govbus(platform_env, "dev", "status", "--json").stdout)
    assert status["running"] is True
    assert status["kafka_bootstrap"] == f"127.0.0.1:{platform_env['GOVBUS_KAFKA_PORT']}"
    assert httpx.get(f"{status['registry_url']}/subjects", timeout=5).json() == []

    again = _govbus(platform_env, "dev", "up")
    assert again.returncode == 0 and "already running" in again.stderr
    assert json.loads(_govbus(platform_env, "dev", "status", "--json").stdout)["kafka_pid"] == status["kafka_pid"]

    down = _govbus(platform_env, "dev", "down")
    assert down.returncode == 0 and "Kafka broker" in down.stderr
    assert not is_alive(status["kafka_pid"]) and not is_alive(status["registry_pid"])
    assert json.loads(_govbus(platform_env, "dev", "status", "--json").stdout)["running"] is False


def test_port_in_use_is_named(platform_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(platform_env["GOVBUS_KAFKA_PORT"])))
        blocker.listen()
        result = _govbus(platform_env, "dev", "up")
    assert result.returncode == 1
    assert f"port 127.0.0.1:{platform_env['GOVBUS_KAFKA_PORT']}" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_says_what_to_install(platform_env: dict[str, str], tmp_path: Path) -> None:
    env = {**platform_env, "PATH": str(tmp_path / "empty-bin"), "GOVBUS_CACHE_DIR": str(tmp_path / "cache")}
    result = _govbus(env, "dev", "up")
    assert result.returncode == 1
    assert "mvn" in result.stderr and "install" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_up_is_secured_keeps_the_credentials_private_and_the_broker_closed(platform_env: dict[str, str]) -> None:
    """SASL/SCRAM, the authorizer and the registry's authentication are the default; TLS (GOVBUS_TLS) on top,
    in the same start, so one platform shows both."""
    env = {**platform_env, "GOVBUS_TLS": "true"}
    up = _govbus(env, "dev", "up")
    assert up.returncode == 0, up.stderr
    status = json.loads(_govbus(env, "dev", "status", "--json").stdout)
    assert status["running"] is True, "the registry and the ACL reconciler reached the broker over TLS"
    security = status["security"]
    assert (security["protocol"], security["mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    ca = Path(security["tls_ca"])
    assert ca == Path(env["GOVBUS_HOME"]) / "dev" / "tls" / "ca.pem" and str(ca) in up.stderr
    for key in ("ca-key.pem", "broker.pem"):
        assert (ca.parent / key).stat().st_mode & 0o777 == 0o600
    path = Path(security["credentials_file"])
    assert path.stat().st_mode & 0o777 == 0o600
    admin = json.loads(path.read_text())["admin"]
    assert admin["username"] == "admin" and len(admin["password"]) >= 24
    data_dir = Path(status["data_dir"])
    logs = "".join(p.read_text(errors="replace") for p in data_dir.rglob("*.log"))
    logs += (data_dir / "kafka" / "kafka.out").read_text(errors="replace")
    for shown in (up.stdout, up.stderr, json.dumps(status), logs):
        assert admin["password"] not in shown, "the password is in the credentials file only"
        assert "PRIVATE KEY" not in shown
    assert "reconciliation failed" not in (data_dir / "acl.log").read_text(errors="replace")
    # the registry reached the secured broker with the administrator's credentials, and asks for the same
    assert httpx.get(f"{status['registry_url']}/subjects", timeout=5).status_code == 401
    assert httpx.get(f"{status['registry_url']}/subjects", auth=("admin", admin["password"]), timeout=5).json() == []
    assert is_alive(status["acl_reconciler_pid"]), "the platform runs the ACL reconciler"
    assert is_alive(status["exporter_pid"]), "and the operator's exporter"
    assert f"metrics at {status['exporter_metrics_url']}" in _govbus(env, "dev", "status").stderr
    deadline = time.monotonic() + 30  # a complete refresh, as the operator over TLS
    while "govbus_exporter_last_refresh_timestamp_seconds " not in _metrics(status):
        assert time.monotonic() < deadline, (data_dir / "exporter.log").read_text(errors="replace")[-2000:]
        time.sleep(0.5)
    assert {"operator", "processor:normaliser", "processor:profiles", "connector:public-feed"} <= set(
        json.loads(path.read_text()))
    broker = KafkaConnection(bootstrap=status["kafka_bootstrap"], security_protocol="SASL_SSL", tls_ca=ca,
                             username="admin", password="a-wrong-password")
    assert clients.admin(broker.with_credentials("admin", admin["password"])).list_topics(timeout=10).brokers
    plain = KafkaConnection(bootstrap=status["kafka_bootstrap"])
    for refused in (broker,  # a wrong password
                    broker.with_credentials("admin", admin["password"]).model_copy(update={"tls_ca": None}),  # no CA
                    plain.with_credentials("admin", admin["password"]), plain):  # no TLS, nothing at all
        with pytest.raises(KafkaException):
            clients.admin(refused, {"log_level": 0}).list_topics(timeout=4)

    # a principal per department of the catalogue, writing only its own department topics
    catalogue = load_catalogue()
    departments = sorted({item.department for item in catalogue.items()})
    found = json.loads(path.read_text())
    assert {f"department:{d}" for d in departments} <= set(found)
    mine, theirs = (next(i for i in catalogue.items() if i.department == d) for d in departments[:2])
    topics = [department_topic(item.department, item.name) for item in (mine, theirs)]
    creator = clients.admin(broker.with_credentials("admin", admin["password"]))
    for topic in topics:
        creator.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    entry = found[f"department:{mine.department}"]
    department = broker.with_credentials(entry["username"], entry["password"])
    deadline, own = time.monotonic() + 30, produce_one(department, topics[0])
    while own is not None and time.monotonic() < deadline:  # ACLs reach the authorizer within moments
        own = produce_one(department, topics[0])
    assert own is None, "a department writes its own department topic"
    assert produce_one(department, topics[1]) == "TOPIC_AUTHORIZATION_FAILED", "and no other department's"

    added = _govbus(env, "dev", "principals", "add", "subscriber:hz-centre", "connector:hz-one-stop")
    assert added.returncode == 0, added.stderr
    found = json.loads(path.read_text())
    assert {"subscriber:hz-centre", "connector:hz-one-stop"} <= set(found) and path.stat().st_mode & 0o777 == 0o600
    listed = _govbus(env, "dev", "principals", "list")
    shown = added.stdout + added.stderr + listed.stdout + listed.stderr
    assert "subscriber.hz-centre" in listed.stderr and "connector.hz-one-stop" in listed.stderr
    assert all(entry["password"] not in shown for entry in found.values())
    # the operators' sweep runs Kafka's tools as the administrator over SASL; nothing hangs on a quiet platform
    swept = _govbus(env, "dev", "abort-hanging")
    assert swept.returncode == 0 and "no hanging transaction" in swept.stdout + swept.stderr, swept.stderr[-2000:]
    down = _govbus(env, "dev", "down")
    assert "ACL reconciler" in down.stderr and not is_alive(status["acl_reconciler_pid"])
