"""`govbus principals create|provision|exec` and the provisioning `govbus dev up` shares: who gets credentials, what
the broker is asked for, and how a component runs as one principal without a password in sight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AclBinding

from govbus.cli import main
from govbus.commands import principals as principals_command
from govbus.commands.principals import principal_env
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.platform import credentials, provisioning
from govbus.platform.dev import _provision_principals
from govbus.topic_names import TopicSettings
from schemas.catalogue import load_catalogue

EXTRA = ["subscriber:hz-centre", "connector:hz-webhook"]


def _create(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["principals", "create", "--credentials-file", str(path), *args])


def test_create_makes_every_platform_principal_and_the_keys_given_privately(tmp_path: Path) -> None:
    path = tmp_path / "run" / "credentials.json"
    done = _create(path, *EXTRA)
    assert done.exit_code == 0, done.output
    held = credentials.load(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(held) == {"admin", *provisioning.platform_keys(load_catalogue()), *EXTRA}
    assert held["processor:normaliser"]["username"] == "processor.normaliser"
    assert all(entry["password"] not in done.output for entry in held.values()), "a password was printed"
    assert _create(path, *EXTRA).exit_code == 0 and credentials.load(path) == held, "passwords are kept"


def test_create_gives_the_file_to_its_reader(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    done = _create(path, "--owner", f"{os.getuid()}:{os.getgid()}")
    assert done.exit_code == 0, done.output
    assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())


@pytest.mark.parametrize(("args", "message"), [(["bogus:x"], "cannot add principal 'bogus:x'"),
                                               (["--owner", "appuser"], "numeric user id")])
def test_create_refuses_what_it_cannot_make(tmp_path: Path, args: list[str], message: str) -> None:
    done = _create(tmp_path / "credentials.json", *args)
    assert done.exit_code == 1 and message in done.output
    assert not (tmp_path / "credentials.json").exists()


def test_a_principal_authenticates_to_the_broker_and_the_registry() -> None:
    entry = {"username": "processor.normaliser", "password": "pw"}
    assert principal_env(entry, {}) == {
        "GOVBUS_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT", "GOVBUS_KAFKA__USERNAME": "processor.normaliser",
        "GOVBUS_KAFKA__PASSWORD": "pw", "GOVBUS_REGISTRY__USERNAME": "processor.normaliser",
        "GOVBUS_REGISTRY__PASSWORD": "pw"}
    tls = principal_env(entry, {"GOVBUS_KAFKA__SECURITY_PROTOCOL": "SSL"})
    assert tls["GOVBUS_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL", "TLS is kept"


def _exec(path: Path, key: str, *command: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(path.parent), "GOVBUS_KAFKA__BOOTSTRAP": "kafka:9092"}
    argv = [sys.executable, "-W", "ignore", "-m", "govbus.cli", "principals", "exec", "--credentials-file",
            str(path), key, *command]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_exec_replaces_itself_with_the_command_as_the_principal(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    held = provisioning.ensure_credentials(path, EXTRA)
    show = "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('GOVBUS_')}))"
    done = _exec(path, "connector:hz-webhook", "--", sys.executable, "-c", show)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["GOVBUS_KAFKA__USERNAME"] == seen["GOVBUS_REGISTRY__USERNAME"] == "connector.hz-webhook"
    assert seen["GOVBUS_KAFKA__PASSWORD"] == held["connector:hz-webhook"]["password"]
    assert seen["GOVBUS_KAFKA__BOOTSTRAP"] == "kafka:9092", "the component's own settings pass through"
    quiet = _exec(path, "admin", "true")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), "the wrapper itself says nothing"


def test_exec_names_a_missing_principal_and_a_missing_command(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    provisioning.ensure_credentials(path)
    unknown = _exec(path, "processor:nope", "true")
    assert unknown.returncode == 1 and "holds no principal 'processor:nope'" in unknown.stderr
    missing = _exec(path, "admin", "--", "no-such-command-here")
    assert missing.returncode == 1 and "cannot run 'no-such-command-here'" in missing.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr


class _Broker:
    """Records what provisioning asks of the broker."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}
        self.acls: list[AclBinding] = []
        self.departments: list[str] = []
        self.subscribers: list[str] = []

    def provision(self, admin: KafkaConnection, users: Mapping[str, str], acls: Iterable[AclBinding]) -> None:
        self.users, self.acls = dict(users), list(acls)

    def store(self, kafka: KafkaConnection, prefix: str) -> _Broker:
        return self

    def register_departments(self, departments: Iterable[str]) -> None:
        self.departments = list(departments)

    def register_subscriber(self, subscriber: str) -> None:
        self.subscribers.append(subscriber)


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> _Broker:
    recorded = _Broker()
    monkeypatch.setattr(provisioning.principals, "provision", recorded.provision)
    monkeypatch.setattr(provisioning, "SharingStore", recorded.store)
    return recorded


def test_provision_creates_every_principal_of_the_file_with_the_static_acls(tmp_path: Path, broker: _Broker) -> None:
    path = tmp_path / "credentials.json"
    held = provisioning.ensure_credentials(path, EXTRA)
    admin = KafkaConnection(bootstrap="kafka:9094").with_credentials("admin", held["admin"]["password"])
    users = provisioning.provision_principals(admin, path, list(held))
    assert set(users) == {entry["username"] for entry in held.values()} == set(broker.users)
    assert broker.users["admin"] == held["admin"]["password"], "the administrator's SCRAM user, too"
    catalogue = load_catalogue()
    assert broker.acls == provisioning.static_acls(catalogue, TopicSettings().topic_prefix)
    assert broker.departments == provisioning.departments(catalogue) and broker.subscribers == ["hz-centre"]
    assert credentials.load(path) == held, "a complete file is not rewritten"


def test_dev_up_provisions_the_platform_principals_alone(tmp_path: Path, broker: _Broker) -> None:
    """The local platform's administrator comes from the storage format (--add-scram): dev up asks for the others."""
    path = tmp_path / "credentials.json"
    credentials.load_or_create(path)
    _provision_principals(KafkaConnection(), path)
    keys = provisioning.platform_keys(load_catalogue())
    assert "admin" not in broker.users and len(broker.users) == len(keys)
    assert set(credentials.load(path)) == {"admin", *keys} and broker.subscribers == []


def _provision(path: Path) -> Any:
    return CliRunner().invoke(main, ["principals", "provision", "--credentials-file", str(path)])


def test_provision_wants_the_file_create_wrote(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    credentials.load_or_create(path)  # the administrator alone
    done = _provision(path)
    assert done.exit_code == 1 and "lacks operator" in done.output and "govbus principals create" in done.output


def test_provision_says_what_the_broker_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "credentials.json"
    held = provisioning.ensure_credentials(path)

    def refuse(admin: KafkaConnection, users: Mapping[str, str], acls: Iterable[AclBinding]) -> None:
        raise PlatformError("the broker refused the principals or their ACLs: SASL authentication error")

    monkeypatch.setattr(principals_command, "require_broker", lambda bootstrap: None)
    monkeypatch.setattr(provisioning.principals, "provision", refuse)
    monkeypatch.setenv("GOVBUS_KAFKA__BOOTSTRAP", "kafka:9094")
    monkeypatch.setenv("GOVBUS_KAFKA__SASL_MECHANISM", "PLAIN")
    done = _provision(path)
    assert done.exit_code == 1 and "SASL authentication error" in done.output
    assert "over SASL_PLAINTEXT/PLAIN at kafka:9094" in done.output.replace("\n", " ")
    assert held["admin"]["password"] not in done.output
