"""The profile schemas and metadata in the catalogue, and the checks of their loader."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import pytest

from govbus.exceptions import CatalogueError
from govbus.topic_names import profile_topic
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import SideKind, load_profile, load_profiles, read_profile

PROFILES_DIR = Path(__file__).resolve().parents[3] / "schemas" / "catalogue" / "profiles"


def test_both_profiles_load_with_item_schemas_in_place() -> None:
    enterprise, person = load_profiles()
    assert (enterprise.key_field, enterprise.anchor.item) == ("uscc", "enterprise_registration")
    assert (person.key_field, person.anchor.item) == ("resident_id", "identity_verification")
    fields = {f["name"]: f["type"] for f in enterprise.schema["fields"]}
    assert fields["registration"] == load_catalogue().get("enterprise_registration").record_schema
    assert fields["credit_records"]["items"]["name"] == "CreditRecord"
    fastavro.parse_schema(person.schema)
    assert [s.kind for s in enterprise.sides].count(SideKind.ANCHOR) == 1


def test_profile_topics_follow_the_naming_convention() -> None:
    assert profile_topic("enterprise") == "govbus.profile.enterprise"
    assert profile_topic("person", "govbus.test-1a") == "govbus.test-1a.profile.person"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(CatalogueError, match="known profiles: enterprise, person"):
        load_profile("household")


def _broken(tmp_path: Path, change_metadata: dict[str, object] | None = None, drop_field: str | None = None) -> Path:
    metadata = json.loads((PROFILES_DIR / "enterprise_profile.json").read_text())
    metadata.update(change_metadata or {})
    schema = json.loads((PROFILES_DIR / "enterprise_profile.avsc").read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != drop_field]
    (tmp_path / "p.json").write_text(json.dumps(metadata))
    (tmp_path / "p.avsc").write_text(json.dumps(schema))
    return tmp_path


def test_metadata_and_schema_must_agree(tmp_path: Path) -> None:
    directory = _broken(tmp_path, drop_field="procurement_awards")
    with pytest.raises(CatalogueError, match="do not match the metadata"):
        read_profile(directory / "p.json", directory / "p.avsc", load_catalogue())


def test_a_side_must_name_a_field_of_its_item(tmp_path: Path) -> None:
    metadata = json.loads((PROFILES_DIR / "enterprise_profile.json").read_text())
    metadata["sides"][2]["anchor_field"] = "subject_usc"
    directory = _broken(tmp_path, {"sides": metadata["sides"]})
    with pytest.raises(CatalogueError, match="credit_record has no field subject_usc"):
        read_profile(directory / "p.json", directory / "p.avsc", load_catalogue())
