"""`govbus subscriptions` and `govbus grants` against the real broker: declare, refuse, authorise, revoke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def env(kafka_bootstrap: str, registry_url: str) -> dict[str, str]:
    return {**os.environ, "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": f"govbus.t-{uuid.uuid4().hex[:10]}"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _write(path: Path, data: dict[str, object]) -> str:
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


SUBSCRIPTION = {
    "name": "hz-one-stop", "subscriber": "hz-centre",
    "items": [{"item": "enterprise_registration", "fields": ["uscc", "name", "legal_representative"],
               "filter": {"division_prefix": "3301"}},
              {"item": "tax_payment_certificate", "fields": ["certificate_number", "taxpayer_name"]}],
    "delivery": {"kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "HZ_SECRET"},
}
GRANT = {"grant_id": "tax-42", "subscriber": "hz-centre", "item": "tax_payment_certificate",
         "approved_by": "taxation", "purpose": "housing purchase checks",
         "fields": ["certificate_number", "taxpayer_name"], "unmasked": [], "expires_at": "2099-01-01T00:00:00+08:00"}


def test_a_subscription_is_refused_without_a_grant_then_accepted_then_stopped(env: dict[str, str],
                                                                               tmp_path: Path) -> None:
    subscription = _write(tmp_path / "sub.yaml", SUBSCRIPTION)
    refused = _run(env, "subscriptions", "add", subscription)
    assert refused.returncode == 1
    assert "needs a grant approved by taxation" in refused.stderr and "Traceback" not in refused.stderr

    wrong_approver = _run(env, "grants", "add", _write(tmp_path / "g1.yaml", {**GRANT, "approved_by": "finance"}))
    assert wrong_approver.returncode == 1 and "only it can approve" in wrong_approver.stderr
    assert _run(env, "grants", "add", _write(tmp_path / "g2.yaml", GRANT)).returncode == 0

    added = _run(env, "subscriptions", "add", subscription)
    assert added.returncode == 0, added.stderr
    assert "under grant tax-42" in added.stderr and "masked: taxpayer_name" in added.stderr
    listed = json.loads(_run(env, "subscriptions", "list", "--json").stdout)
    assert [s["name"] for s in listed] == ["hz-one-stop"]

    assert _run(env, "grants", "revoke", "tax-42").returncode == 0
    shown = _run(env, "subscriptions", "show", "hz-one-stop")
    assert "not authorised now" in shown.stderr and "revoked" in shown.stderr
    assert "revoked" in _run(env, "grants", "list").stderr

    assert _run(env, "subscriptions", "remove", "hz-one-stop").returncode == 0
    assert json.loads(_run(env, "subscriptions", "list", "--json").stdout) == []


def test_a_bad_file_is_explained(env: dict[str, str], tmp_path: Path) -> None:
    broken = _write(tmp_path / "bad.yaml", {**SUBSCRIPTION, "name": "Bad Name", "items": []})
    result = _run(env, "subscriptions", "add", broken)
    assert result.returncode == 1
    assert "name" in result.stderr and "items" in result.stderr and "Traceback" not in result.stderr


PROFILE_GRANTS = [
    {"grant_id": "id-9", "item": "identity_verification", "approved_by": "public-security",
     "fields": ["resident_id", "name"], "unmasked": ["name"]},
    {"grant_id": "edu-9", "item": "degree_certification", "approved_by": "education",
     "fields": ["major", "holder_name"], "unmasked": []},
]


def test_a_profile_subscription_is_authorised_side_by_side(env: dict[str, str], tmp_path: Path) -> None:
    subscription = _write(tmp_path / "profile.yaml", {
        **SUBSCRIPTION, "name": "hz-people",
        "items": [{"item": "profile:person", "fields": ["resident_id", "identity.name", "degrees.major",
                                                        "degrees.holder_name"]}]})
    refused = _run(env, "subscriptions", "add", subscription)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "side identity: identity_verification" in refused.stderr and "side degrees" in refused.stderr
    for number, grant in enumerate(PROFILE_GRANTS):
        values = {**GRANT, **grant}
        assert _run(env, "grants", "add", _write(tmp_path / f"pg{number}.yaml", values)).returncode == 0

    added = _run(env, "subscriptions", "add", subscription)
    assert added.returncode == 0, added.stderr
    summary = " ".join(added.stderr.split())
    assert "profile:person: 4 fields under grant id-9, edu-9; masked: resident_id, " \
           "degree_certifications.holder_name" in summary
    assert "authorised now" in _run(env, "subscriptions", "show", "hz-people").stderr

    assert _run(env, "grants", "revoke", "edu-9").returncode == 0
    shown = " ".join(_run(env, "subscriptions", "show", "hz-people").stderr.split())
    assert "not authorised now" in shown and "side degrees: degree_certification: grant(s) edu-9 were revoked" in shown
