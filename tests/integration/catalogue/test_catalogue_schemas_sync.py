"""`govbus schemas sync` as a subprocess against the real registry process.

Every test uses its own GOVBUS_TOPIC_PREFIX, so its subjects are its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from govbus import clients
from schemas.catalogue import load_catalogue
from schemas.catalogue.loader import packaged_items
from testsupport.connections import registry_at

CATALOGUE = load_catalogue()


@pytest.fixture
def prefix() -> str:
    return f"govbus.t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(registry_url: str) -> SchemaRegistryClient:
    return clients.registry_client(registry_at(registry_url))


def govbus(registry_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOVBUS_REGISTRY__URL": registry_url, "GOVBUS_TOPIC_PREFIX": prefix, "COLUMNS": "250"}
    env.pop("GOVBUS_CATALOGUE_DIR", None)
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def sync_json(registry_url: str, prefix: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = govbus(registry_url, prefix, "schemas", "sync", "--json", *args)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def by_item(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["item"]: entry for entry in report["subjects"]}


def edited_catalogue(tmp_path: Path, edits: dict[str, Any]) -> Path:
    """A copy of the packaged catalogue with ``edits[item](schema, metadata)`` applied to the named items."""
    target = tmp_path / "catalogue"
    target.mkdir()
    for entry in packaged_items().iterdir():
        if entry.name.endswith((".avsc", ".json")):
            (target / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    for item, edit in edits.items():
        files = [target / f"{item}.avsc", target / f"{item}.json"]
        schema, metadata = (json.loads(path.read_text(encoding="utf-8")) for path in files)
        edit(schema, metadata)
        for path, data in zip(files, (schema, metadata), strict=True):
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def narrow_capital(schema: dict[str, Any], _metadata: dict[str, Any]) -> None:
    """long -> int: a new reader cannot read old data (breaks BACKWARD)."""
    next(f for f in schema["fields"] if f["name"] == "registered_capital_cents")["type"] = "int"


def add_optional_phone(schema: dict[str, Any], metadata: dict[str, Any]) -> None:
    """A new nullable field with a default: compatible in every direction (classified personal, as the loader
    wants every field classified)."""
    schema["fields"].append({"name": "contact_phone", "type": ["null", "string"], "default": None,
                             "doc": "Contact phone number (personal data); null if unknown."})
    metadata["personal_fields"]["contact_phone"] = "phone"


def test_sync_registers_every_item_then_everything_is_unchanged(
    registry_url: str, prefix: str, client: SchemaRegistryClient,
) -> None:
    code, report = sync_json(registry_url, prefix)
    assert code == 0, report
    results = by_item(report)
    assert set(results) == set(CATALOGUE.names())
    for item in CATALOGUE:
        result = results[item.name]
        subject = f"{prefix}.dept.{item.department}.{item.name.replace('_', '-')}-value"
        assert (result["subject"], result["outcome"], result["version"]) == (subject, "new", 1)
        registered = client.get_latest_version(subject)
        assert registered.schema_id == result["schema_id"]
        assert fastavro.parse_schema(json.loads(registered.schema.schema_str))["name"].endswith(item.event_name)
        assert client.get_compatibility(subject) == item.compatibility.value

    again = govbus(registry_url, prefix, "schemas", "sync")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("unchanged") == len(CATALOGUE)
    assert " new " not in again.stdout and "refused" not in again.stdout
    assert f"{len(CATALOGUE)} subject(s): {len(CATALOGUE)} unchanged" in again.stderr
    for item in CATALOGUE:
        assert client.get_versions(item.topics(prefix).department_subject) == [1]


def test_incompatible_change_is_refused_with_the_registrys_reasons_and_nothing_is_registered(
    registry_url: str, prefix: str, client: SchemaRegistryClient, tmp_path: Path,
) -> None:
    assert sync_json(registry_url, prefix)[0] == 0
    changed = edited_catalogue(tmp_path, {"enterprise_registration": narrow_capital,
                                          "credit_record": add_optional_phone})

    dry = govbus(registry_url, prefix, "schemas", "sync", "--dry-run", "--catalogue-dir", str(changed))
    assert dry.returncode == 1
    assert "refused enterprise_registration" in dry.stdout
    assert "BACKWARD: the new schema cannot read data written with version 1" in dry.stdout
    assert "registered_capital_cents" in dry.stdout

    code, report = sync_json(registry_url, prefix, "--catalogue-dir", str(changed))
    assert code == 1
    results = by_item(report)
    refused = results["enterprise_registration"]
    assert refused["outcome"] == "refused"
    assert any("registered_capital_cents" in reason and "int" in reason and "long" in reason
               for reason in refused["reasons"]), refused["reasons"]
    assert results["credit_record"]["outcome"] == "not applied"
    assert {r["outcome"] for name, r in results.items() if name not in ("enterprise_registration", "credit_record")} \
        == {"unchanged"}
    for item in ("enterprise_registration", "credit_record"):
        assert client.get_versions(CATALOGUE.get(item).topics(prefix).department_subject) == [1]


def test_compatible_change_becomes_a_new_version(
    registry_url: str, prefix: str, client: SchemaRegistryClient, tmp_path: Path,
) -> None:
    assert sync_json(registry_url, prefix)[0] == 0
    changed = edited_catalogue(tmp_path, {"identity_verification": add_optional_phone})
    subject = CATALOGUE.get("identity_verification").topics(prefix).department_subject

    code, dry = sync_json(registry_url, prefix, "--dry-run", "--catalogue-dir", str(changed))
    assert code == 0 and dry["dry_run"] is True
    assert by_item(dry)["identity_verification"]["outcome"] == "changed"
    assert client.get_versions(subject) == [1]

    code, report = sync_json(registry_url, prefix, "--catalogue-dir", str(changed))
    assert code == 0, report
    results = by_item(report)
    assert (results["identity_verification"]["outcome"], results["identity_verification"]["version"]) == ("changed", 2)
    assert client.get_compatibility(subject) == "FULL_TRANSITIVE"
    assert {r["outcome"] for name, r in results.items() if name != "identity_verification"} == {"unchanged"}
    assert client.get_versions(subject) == [1, 2]
    latest = json.loads(client.get_latest_version(subject).schema.schema_str)
    record = next(f for f in latest["fields"] if f["name"] == "record")["type"][1]
    assert record["fields"][-1]["name"] == "contact_phone"


def test_item_option_limits_the_sync_and_unknown_items_fail(registry_url: str, prefix: str) -> None:
    code, report = sync_json(registry_url, prefix, "--item", "credit_record")
    assert code == 0
    assert [r["item"] for r in report["subjects"]] == ["credit_record"]

    done = govbus(registry_url, prefix, "schemas", "sync", "--item", "credit_recrod")
    assert done.returncode == 1
    assert "did you mean credit_record" in done.stderr


def test_unreachable_registry_is_one_clear_error(tmp_path: Path, prefix: str) -> None:
    done = govbus("http://127.0.0.1:9", prefix, "schemas", "sync", "--item", "credit_record")
    assert done.returncode == 1
    assert "cannot be reached" in done.stderr and "GOVBUS_REGISTRY__URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_catalogue_dir_from_the_environment(registry_url: str, prefix: str, tmp_path: Path) -> None:
    broken = edited_catalogue(tmp_path, {"credit_record": lambda s, _m: s["fields"][0].pop("doc")})
    env = {**os.environ, "GOVBUS_REGISTRY__URL": registry_url, "GOVBUS_TOPIC_PREFIX": prefix,
           "GOVBUS_CATALOGUE_DIR": str(broken)}
    done = subprocess.run([sys.executable, "-m", "govbus.cli", "schemas", "sync", "--dry-run"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "credit_record.avsc: fields without a doc: decision_number" in done.stderr.replace("\n", "")
    assert "Traceback" not in done.stderr
