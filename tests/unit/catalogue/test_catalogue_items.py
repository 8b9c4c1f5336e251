"""The shipped catalogue: every item's metadata, schema, model and event schema hold together."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import pytest

from govbus.envelope import ChangeEvent
from govbus.exceptions import ConfigurationError, UnknownDataItemError
from schemas.catalogue import (
    Catalogue,
    Department,
    IdentifierKind,
    MaskingKind,
    SharingClass,
    load_catalogue,
    record_schema,
)
from schemas.catalogue.agreement import identifier_mismatches, model_mismatches
from schemas.catalogue.classification import leaf_paths
from schemas.catalogue.loader import department_namespace, pascal_case
from schemas.catalogue.models import MODELS

ITEMS = sorted(MODELS)
PUBLIC_RESOURCE_TRANSACTIONS = {
    "government_procurement_award", "land_use_right_transfer", "mining_right_transfer",
    "state_property_right_transaction", "construction_tender_award", "affordable_housing_allocation",
}
REQUIRED_ITEMS = PUBLIC_RESOURCE_TRANSACTIONS | {
    "identity_verification", "enterprise_registration", "social_organisation_registration",
    "public_institution_registration", "tax_payment_certificate", "real_estate_registration",
    "degree_certification", "credit_record",
}


def test_the_catalogue_has_every_item_the_issue_names(catalogue: Catalogue) -> None:
    assert len(catalogue) >= 14
    assert REQUIRED_ITEMS <= set(catalogue.names())
    assert set(catalogue.names()) == set(MODELS)


@pytest.mark.parametrize("name", ITEMS)
def test_metadata_is_complete_and_consistent_with_the_schema(catalogue: Catalogue, name: str) -> None:
    item = catalogue.get(name)
    meta = item.metadata
    assert meta.title.zh and meta.title.en and meta.description
    assert any("国发〔2016〕51号" in basis for basis in meta.legal_basis)
    if MaskingKind.RESIDENT_ID in item.personal_fields.values():
        assert any("个人信息保护法" in basis for basis in meta.legal_basis)
    schema = item.record_schema
    assert schema["name"] == pascal_case(name)
    assert schema["namespace"] == department_namespace(item.department)
    fields = {f["name"] for f in schema["fields"]}
    assert set(item.key_fields) <= fields
    assert sorted([*item.personal_fields, *item.not_personal_fields]) == sorted(leaf_paths(schema)), "each once"
    assert {f for f, kind in item.identifier_fields.items() if kind is IdentifierKind.RESIDENT_ID} <= set(
        item.personal_fields), "a person's identifier is personal"
    assert set(item.identifier_fields) <= fields
    assert all(f.get("doc") for f in schema["fields"])


@pytest.mark.parametrize("name", ITEMS)
def test_model_agrees_with_the_avro_schema_field_by_field(catalogue: Catalogue, name: str) -> None:
    item = catalogue.get(name)
    assert model_mismatches(item.record_schema, item.model) == []
    assert identifier_mismatches(item) == []


@pytest.mark.parametrize("name", ITEMS)
def test_event_schema_parses_and_carries_a_validated_record(catalogue: Catalogue, name: str,
                                                           samples: dict[str, dict[str, Any]]) -> None:
    item = catalogue.get(name)
    parsed = fastavro.parse_schema(item.event_schema())
    record = item.validate(samples[name])
    event = ChangeEvent(data_item=name, department=item.department, source_system="test",
                        record_key=item.key_of(record), occurred_at=dt.datetime(2024, 5, 20, tzinfo=dt.UTC),
                        record=record)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, event.to_avro())
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(buffer, parsed)
    assert decoded["record"] == record
    assert item.validate(decoded["record"]) == record


def test_sharing_classes_are_realistic(catalogue: Catalogue) -> None:
    identity = catalogue.get("identity_verification")
    assert identity.sharing_class is SharingClass.CONDITIONAL and not identity.open_to_public
    assert identity.personal_fields["resident_id"] is MaskingKind.RESIDENT_ID
    assert identity.personal_fields["name"] is MaskingKind.NAME
    for name in PUBLIC_RESOURCE_TRANSACTIONS:
        assert catalogue.get(name).open_to_public, name
    for item in catalogue:
        if item.sharing_class is SharingClass.CONDITIONAL:
            assert item.metadata.sharing_conditions
        if item.sharing_class is SharingClass.NOT_SHARED:
            assert not item.open_to_public
    classes = {item.sharing_class for item in catalogue}
    assert classes == set(SharingClass)


def test_owned_by_returns_the_departments_items(catalogue: Catalogue) -> None:
    natural = {item.name for item in catalogue.owned_by("natural-resources")}
    assert natural == {"real_estate_registration", "land_use_right_transfer", "mining_right_transfer"}
    assert [i.name for i in catalogue.owned_by(Department.PUBLIC_SECURITY)] == ["identity_verification"]
    with pytest.raises(ConfigurationError, match=r"no department 'natural-resource'.*natural-resources"):
        catalogue.owned_by("natural-resource")


def test_get_unknown_item_lists_close_matches_and_known_names(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownDataItemError) as caught:
        catalogue.get("enterprise_registraton")
    assert caught.value.close_matches[0] == "enterprise_registration"
    assert "did you mean enterprise_registration" in str(caught.value)
    assert "identity_verification" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_catalogue_codes_are_unique(catalogue: Catalogue) -> None:
    codes = [item.code for item in catalogue]
    assert len(set(codes)) == len(codes)


def test_load_catalogue_is_cached_and_record_schema_returns_copies() -> None:
    assert load_catalogue() is load_catalogue()
    first = record_schema("enterprise_registration")
    first["fields"].clear()
    assert record_schema("enterprise_registration")["fields"]


def test_topics_follow_the_convention(catalogue: Catalogue) -> None:
    topics = catalogue.get("enterprise_registration").topics()
    assert topics.department == "govbus.dept.market-regulation.enterprise-registration"
    assert topics.canonical == "govbus.canonical.enterprise-registration"
    assert topics.dead_letter == "govbus.dead-letter.enterprise-registration"
    assert topics.department_subject == "govbus.dept.market-regulation.enterprise-registration-value"
    assert catalogue.get("credit_record").topics("govbus.demo-1a").canonical == "govbus.demo-1a.canonical.credit-record"
