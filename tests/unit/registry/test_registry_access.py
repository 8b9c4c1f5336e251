"""Who may do what in the registry, and reading HTTP Basic credentials from the platform's file."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from govbus.exceptions import ConfigurationError
from govbus.topic_names import department_topic, local_topic, value_subject
from schemas.registry.access import Action, action_of, allowed, owning_department, refusal
from schemas.registry.auth import CredentialStore, basic_credentials
from schemas.registry.errors import Unauthenticated
from schemas.registry.server import credential_store
from schemas.registry.settings import RegistrySettings

TAXATION = "department:taxation"


@pytest.mark.parametrize("prefix", ["govbus", "govbus.test-1a2b", "a.b.c-d.e"])
def test_a_department_owns_its_department_and_local_topics_under_any_prefix(prefix: str) -> None:
    dept = department_topic("market-regulation", "enterprise_registration", prefix)
    local = local_topic("market-regulation", "enterprise_registration", "zhejiang-aic-v2", prefix)
    for subject in (value_subject(dept), f"{dept}-key", value_subject(local), f"{local}-key"):
        assert owning_department(subject) == "market-regulation", subject


@pytest.mark.parametrize("subject", [
    "govbus.canonical.enterprise-registration-value",
    "govbus.dead-letter.enterprise-registration-value",
    "govbus.profile.enterprise-value",
    "govbus.dept.taxation.tax-record",               # no -value / -key: not a TopicNameStrategy subject
    "govbus.dept.taxation.tax-record.extra-value",  # one word too many for a department topic
    "govbus.local.taxation.tax-record-value",       # one word too few for a local topic
    "dept.taxation.tax-record-value",               # no prefix
    "govbus.dept.Taxation.tax-record-value",        # not a topic govbus would name
    "govbus.dept.taxation..tax-record-value",
    "govbus.local.dept.a.b-value",                   # reads as department 'a' and as department 'dept'
    "people-value",
    "",
])
def test_other_subjects_belong_to_no_department(subject: str) -> None:
    assert owning_department(subject) is None


@pytest.mark.parametrize(("method", "route", "action"), [
    ("GET", "/", Action.PUBLIC),
    ("GET", "/metrics", Action.PUBLIC),
    ("GET", "/subjects", Action.READ),
    ("HEAD", "/subjects/{subject}/versions", Action.READ),
    ("POST", "/subjects/{subject}", Action.READ),
    ("POST", "/compatibility/subjects/{subject}/versions", Action.READ),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}", Action.READ),
    ("POST", "/subjects/{subject}/versions", Action.REGISTER),
    ("DELETE", "/subjects/{subject}", Action.OPERATE),
    ("DELETE", "/subjects/{subject}/versions/{version}", Action.OPERATE),
    ("PUT", "/config", Action.OPERATE),
    ("DELETE", "/config/{subject}", Action.OPERATE),
    ("PUT", "/mode/{subject}", Action.OPERATE),
    ("POST", "/mode", Action.OPERATE),     # an unknown write on a known path is an operation
    ("POST", None, Action.READ),           # no route: credentials needed, then 404
])
def test_actions(method: str, route: str | None, action: Action) -> None:
    assert action_of(method, route) is action


def test_who_may_do_what() -> None:
    own, other = "govbus.t.dept.taxation.tax-value", "govbus.t.dept.market-regulation.licence-value"
    canonical = "govbus.t.canonical.tax-value"
    for boss in ("admin", "operator"):
        assert all(allowed(boss, action, s) for action in Action for s in (own, other, canonical))
    assert allowed(TAXATION, Action.REGISTER, own)
    assert allowed(TAXATION, Action.REGISTER, "govbus.t.local.taxation.tax.old-system-value")
    assert not allowed(TAXATION, Action.REGISTER, other)
    assert not allowed(TAXATION, Action.REGISTER, canonical)
    assert not allowed(TAXATION, Action.OPERATE, own)
    for reader in (TAXATION, "subscriber:x", "processor:normaliser", "connector:s"):
        assert allowed(reader, Action.READ, canonical) and allowed(reader, Action.PUBLIC, None)
        assert not allowed(reader, Action.OPERATE, None)
    assert not allowed("subscriber:taxation", Action.REGISTER, own)  # the slug alone is not the department
    assert not allowed("department:", Action.REGISTER, own)


def test_refusals_say_what_to_do() -> None:
    message = refusal(TAXATION, Action.REGISTER, "POST", "/subjects/x/versions", "govbus.canonical.tax-value")
    assert "govbus.canonical.tax-value" in message and "<prefix>.dept.taxation.<item>" in message
    assert "operator" in message
    message = refusal(TAXATION, Action.OPERATE, "PUT", "/config", None)
    assert "PUT /config" in message and "operators only" in message


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_credentials() -> None:
    assert basic_credentials(_basic("department.taxation:p:w d")) == ("department.taxation", "p:w d")
    assert basic_credentials("basic " + _basic("u:p").split()[1]) == ("u", "p")
    for header in (None, "", "Bearer abc", "Basic", "Basic !!!", _basic("no-colon"), _basic(":nouser"),
                   "Basic " + base64.b64encode(b"\xff:\xfe").decode()):
        with pytest.raises(Unauthenticated) as caught:
            basic_credentials(header)
        assert caught.value.http_status == 401 and caught.value.error_code == 40101
        assert "GOVBUS_REGISTRY__USERNAME" in caught.value.message
        assert caught.value.headers() == {"WWW-Authenticate": 'Basic realm="govbus-registry"'}


def _write(path: Path, users: dict[str, str]) -> None:
    entries = {key: {"username": key.replace(":", ".", 1), "password": password} for key, password in users.items()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries))
    temporary.chmod(0o600)
    temporary.replace(path)


def test_the_store_checks_passwords_and_rereads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    _write(path, {"admin": "s3cret", TAXATION: "tax-pw", "subscriber:x": ""})
    store = CredentialStore(path)
    assert store.principal(_basic("admin:s3cret")) == "admin"
    assert store.principal(_basic("department.taxation:tax-pw")) == TAXATION
    for wrong in ("admin:S3cret", "admin:", "nobody:s3cret", "subscriber.x:"):
        with pytest.raises(Unauthenticated) as caught:
            store.principal(_basic(wrong))
        assert "s3cret" not in caught.value.message.lower() and "wrong" in caught.value.message
    with pytest.raises(Unauthenticated):
        store.principal(_basic("department.market-regulation:mr-pw"))

    _write(path, {"admin": "s3cret", "department:market-regulation": "mr-pw"})  # added, and taxation removed
    assert store.principal(_basic("department.market-regulation:mr-pw")) == "department:market-regulation"
    with pytest.raises(Unauthenticated):
        store.principal(_basic("department.taxation:tax-pw"))

    path.chmod(0o644)  # unreadable by the rules: the principals read last still apply
    os.utime(path, ns=(1, 1))
    assert store.principal(_basic("admin:s3cret")) == "admin"
    path.unlink()
    assert store.principal(_basic("admin:s3cret")) == "admin"


def test_the_store_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        CredentialStore(tmp_path / "missing.json")
    open_file = tmp_path / "open.json"
    open_file.write_text("{}")
    open_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        CredentialStore(open_file)


def test_an_open_registry_says_so_once_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVBUS_REGISTRY_CREDENTIALS_FILE", raising=False)
    with caplog.at_level("WARNING", logger="schemas.registry.server"):
        assert credential_store(RegistrySettings()) is None
    assert [r.getMessage() for r in caplog.records if "anyone" in r.getMessage()], caplog.text
    path = tmp_path / "credentials.json"
    _write(path, {"admin": "s3cret"})
    store = credential_store(RegistrySettings(registry_credentials_file=path))
    assert store is not None and store.principal(_basic("admin:s3cret")) == "admin"


def test_a_processor_registers_only_the_subjects_of_its_own_output_topics() -> None:
    canonical = "govbus.t-1a.canonical.tax-payment-certificate-value"
    profile = "govbus.profile.person-value"
    assert allowed("processor:normaliser", Action.REGISTER, canonical)
    assert allowed("processor:profiles", Action.REGISTER, profile)
    assert not allowed("processor:normaliser", Action.REGISTER, profile)
    assert not allowed("processor:profiles", Action.REGISTER, canonical)
    assert not allowed("processor:normaliser", Action.REGISTER, "govbus.dept.taxation.tax-payment-certificate-value")
    assert not allowed("processor:normaliser", Action.OPERATE, canonical)
    assert not allowed("department:taxation", Action.REGISTER, canonical)
