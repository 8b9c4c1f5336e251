"""The normaliser's parts without Kafka: the handler (with an in-memory registry), settings,
topic list, metrics and lag."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from memory_registry import MemoryRegistry
from prometheus_client import CollectorRegistry

from govbus.demo.dialect_samples import change_event, samples
from govbus.exceptions import RegistryError, UnknownDataItemError
from govbus.serde import WireDecoder, WireEncoder
from streams.dialects import ITEMS, FixKind, dialects_for, fixes_from_header, get_dialect
from streams.normalising.handler import Accepted, ItemNormaliser, Rejected
from streams.normalising.metrics import NormaliserMetrics
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import normaliser_topics

PREFIX = "govbus.unit"


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


def normaliser_for(item: str, registry: MemoryRegistry) -> ItemNormaliser:
    catalogue_item = dialects_for(item)[0].item
    canonical = WireEncoder(registry, "canonical-value", catalogue_item.event_schema())  # type: ignore[arg-type]
    return ItemNormaliser(catalogue_item, dialects_for(item), PREFIX, WireDecoder(registry),  # type: ignore[arg-type]
                          canonical, registry_url="http://registry.test")


def encode(registry: MemoryRegistry, item: str, dialect: str, event: dict[str, Any]) -> bytes:
    schema = get_dialect(item, dialect).event_schema()
    return WireEncoder(registry, f"{dialect}-value", schema).encode(event)  # type: ignore[arg-type]


def test_a_dialect_event_becomes_the_canonical_event_with_its_fixes(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("tax_payment_certificate", registry)
    sample = next(s for s in samples("tax_payment_certificate", "jiangsu-etax-v2", 5, bad_share=0.0, seed=2))
    event = change_event(sample, "taxation", random.Random(1))
    topic = get_dialect("tax_payment_certificate", "jiangsu-etax-v2").topic(PREFIX)
    outcome = normaliser.handle(encode(registry, "tax_payment_certificate", "jiangsu-etax-v2", event), topic)
    assert isinstance(outcome, Accepted)
    assert outcome.key == sample.key.encode() and outcome.event_id == event["event_id"]
    canonical = WireDecoder(registry).decode(outcome.value).value  # type: ignore[arg-type]
    assert canonical["record"] == sample.expected and canonical["record_key"] == sample.key
    assert str(canonical["event_id"]) == event["event_id"] and canonical["trace_id"] == event["trace_id"]
    headers = dict(outcome.headers())
    assert headers["govbus.dialect"] == b"jiangsu-etax-v2"
    assert {(f.field, f.kind) for f in fixes_from_header(headers["govbus.fixes"])} == sample.expected_fixes


def test_a_bad_record_is_rejected_naming_field_rule_and_event(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("identity_verification", registry)
    sample = samples("identity_verification", "hubei-rkk-v1", 1, bad_share=1.0, seed=5)[0]
    event = change_event(sample, "public-security", random.Random(2))
    topic = get_dialect("identity_verification", "hubei-rkk-v1").topic(PREFIX)
    outcome = normaliser.handle(encode(registry, "identity_verification", "hubei-rkk-v1", event), topic)
    assert isinstance(outcome, Rejected)
    assert (outcome.stage, outcome.field, outcome.rule) == ("validate", *sample.broken)  # type: ignore[misc]
    assert outcome.event_id == event["event_id"] and outcome.dialect == "hubei-rkk-v1"


@pytest.mark.parametrize(("raw", "rule"), [
    (b"not avro", "wire_format"), (None, "wire_format"), (b"\x00\x00\x00\x03\xe7rest", "wire_format"),
])
def test_undecodable_bytes_are_rejected_at_decode(registry: MemoryRegistry, raw: bytes | None, rule: str) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    outcome = normaliser.handle(raw, get_dialect("enterprise_registration", "canonical").topic(PREFIX))
    assert isinstance(outcome, Rejected) and (outcome.stage, outcome.rule) == ("decode", rule)


def test_a_record_that_is_not_an_envelope_is_rejected(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    schema = {"type": "record", "name": "Junk", "fields": [{"name": "x", "type": "string"}]}
    raw = WireEncoder(registry, "junk-value", schema).encode({"x": "y"})  # type: ignore[arg-type]
    outcome = normaliser.handle(raw, get_dialect("enterprise_registration", "canonical").topic(PREFIX))
    assert isinstance(outcome, Rejected) and (outcome.stage, outcome.rule) == ("decode", "envelope")


def test_an_event_naming_another_department_than_its_topics_is_rejected(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    for dialect in ("canonical", *(d.name for d in dialects_for("enterprise_registration")[1:2])):
        sample = samples("enterprise_registration", dialect, 1, bad_share=0.0, seed=1)[0]
        event = change_event(sample, "taxation", random.Random(3))
        raw = encode(registry, "enterprise_registration", dialect, event)
        outcome = normaliser.handle(raw, get_dialect("enterprise_registration", dialect).topic(PREFIX))
        assert isinstance(outcome, Rejected)
        assert (outcome.stage, outcome.field, outcome.rule) == ("validate", "department", "envelope.department")
        assert "market-regulation's" in outcome.reason


def test_an_event_of_another_item_is_rejected(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    sample = samples("enterprise_registration", "canonical", 1, bad_share=0.0, seed=1)[0]
    event = {**change_event(sample, "market-regulation", random.Random(3)), "data_item": "credit_record"}
    raw = encode(registry, "enterprise_registration", "canonical", event)
    outcome = normaliser.handle(raw, get_dialect("enterprise_registration", "canonical").topic(PREFIX))
    assert isinstance(outcome, Rejected) and (outcome.field, outcome.rule) == ("data_item", "envelope.data_item")


def test_a_delete_keeps_no_record_and_gets_the_canonical_key(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("identity_verification", registry)
    sample = samples("identity_verification", "sichuan-gaj-v3", 1, bad_share=0.0, seed=1)[0]
    legacy = sample.key[:6] + sample.key[8:17] if sample.key[6:8] == "19" else sample.key
    event = {**change_event(sample, "public-security", random.Random(4)), "operation": "DELETE", "record": None,
             "record_key": "  " + legacy}
    raw = encode(registry, "identity_verification", "sichuan-gaj-v3", event)
    outcome = normaliser.handle(raw, get_dialect("identity_verification", "sichuan-gaj-v3").topic(PREFIX))
    assert isinstance(outcome, Accepted) and outcome.key == sample.key.encode() and outcome.fixes == ()
    canonical = WireDecoder(registry).decode(outcome.value).value  # type: ignore[arg-type]
    assert canonical["operation"] == "DELETE" and canonical["record"] is None


@pytest.mark.parametrize(("amount", "rule"), [("99999999999999999999", "amount.range"),  # 20 digits: never scaled
                                              ("9999999999999", "number.range"),  # 10^19 fen: beyond an Avro long
                                              ("1e999999", "amount.range")])  # would overflow the scaling
def test_an_amount_too_large_for_avro_is_rejected_naming_its_field(registry: MemoryRegistry, amount: str,
                                                                     rule: str) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    sample = samples("enterprise_registration", "zhejiang-aic-v2", 1, bad_share=0.0, seed=1)[0]
    event = change_event(sample, "market-regulation", random.Random(6))
    event["record"] = {**sample.local, "zczb": amount}
    raw = encode(registry, "enterprise_registration", "zhejiang-aic-v2", event)
    outcome = normaliser.handle(raw, get_dialect("enterprise_registration", "zhejiang-aic-v2").topic(PREFIX))
    assert isinstance(outcome, Rejected)
    assert (outcome.stage, outcome.field, outcome.rule) == ("validate", "registered_capital_cents", rule)


def test_an_unforeseen_error_is_a_rejection_not_a_crash(registry: MemoryRegistry,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    sample = samples("enterprise_registration", "canonical", 1, bad_share=0.0, seed=1)[0]
    raw = encode(registry, "enterprise_registration", "canonical", change_event(sample, "market-regulation",
                                                                                 random.Random(7)))
    dialect = get_dialect("enterprise_registration", "canonical")

    def broken(_raw: Any) -> Any:
        raise LookupError("a bug")

    monkeypatch.setattr(dialect, "normalise", broken)
    outcome = normaliser.handle(raw, dialect.topic(PREFIX))
    assert isinstance(outcome, Rejected) and (outcome.stage, outcome.rule) == ("validate", "unreadable")


def test_an_unreachable_registry_is_raised_not_dead_lettered(registry: MemoryRegistry) -> None:
    normaliser = normaliser_for("enterprise_registration", registry)
    sample = samples("enterprise_registration", "canonical", 1, bad_share=0.0, seed=1)[0]
    raw = encode(registry, "enterprise_registration", "canonical", change_event(sample, "market-regulation",
                                                                                 random.Random(5)))
    registry.down = True
    with pytest.raises(RegistryError):
        normaliser_for("enterprise_registration", registry).decode(raw, normaliser.topics[0])


def test_settings_read_a_comma_separated_item_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_NORMALISER_ITEMS", "identity_verification, degree_certification,identity_verification")
    assert NormaliserSettings().normaliser_items == ("identity_verification", "degree_certification")
    monkeypatch.setenv("GOVBUS_NORMALISER_ITEMS", "identity_verificaton")
    with pytest.raises(UnknownDataItemError, match="identity_verification"):
        NormaliserSettings()
    monkeypatch.delenv("GOVBUS_NORMALISER_ITEMS")
    assert NormaliserSettings().normaliser_items == ITEMS


def test_topic_list_has_every_topic_with_one_partition_count() -> None:
    settings = NormaliserSettings(topic_prefix="govbus.t", normaliser_app_id="norm", normaliser_partitions=4,
                                  normaliser_dedup_window_seconds=600, normaliser_items=("enterprise_registration",
                                                                                        "degree_certification"))
    specs = {spec.name: spec for spec in normaliser_topics(settings)}
    assert set(specs) == {
        "govbus.t.dept.market-regulation.enterprise-registration",
        "govbus.t.local.market-regulation.enterprise-registration.zhejiang-aic-v2",
        "govbus.t.local.market-regulation.enterprise-registration.guangdong-scjg-v1",
        "govbus.t.canonical.enterprise-registration", "govbus.t.dead-letter.enterprise-registration",
        "govbus.t.dept.education.degree-certification", "govbus.t.canonical.degree-certification",
        "govbus.t.dead-letter.degree-certification",
        *(f"changelog__norm--{source}--default" for source in (
            "govbus.t.dept.market-regulation.enterprise-registration",
            "govbus.t.local.market-regulation.enterprise-registration.zhejiang-aic-v2",
            "govbus.t.local.market-regulation.enterprise-registration.guangdong-scjg-v1",
            "govbus.t.dept.education.degree-certification")),
        "govbus.t.sources",
    }
    heartbeats = specs.pop("govbus.t.sources")  # one partition, compacted: the last event per source
    assert (heartbeats.partitions, heartbeats.config) == (1, {"cleanup.policy": "compact"})
    assert {spec.partitions for spec in specs.values()} == {4}
    assert specs["changelog__norm--govbus.t.dept.education.degree-certification--default"].config == {
        "cleanup.policy": "compact"}


def test_without_dedup_there_is_no_changelog_topic() -> None:
    settings = NormaliserSettings(normaliser_app_id="norm", normaliser_dedup=False,
                                  normaliser_items=("enterprise_registration",))
    assert not [spec for spec in normaliser_topics(settings) if spec.name.startswith("changelog__")]


def test_without_heartbeats_there_is_no_sources_topic() -> None:
    settings = NormaliserSettings(topic_prefix="govbus.t", normaliser_sources_interval_seconds=0,
                                  normaliser_items=("enterprise_registration",))
    assert "govbus.t.sources" not in {spec.name for spec in normaliser_topics(settings)}


def test_metrics_count_each_fix_kind_once_per_record() -> None:
    collector = CollectorRegistry()
    metrics = NormaliserMetrics(collector)
    dialect = get_dialect("enterprise_registration", "zhejiang-aic-v2")
    sample = samples("enterprise_registration", "zhejiang-aic-v2", 1, bad_share=0.0, seed=1)[0]
    fixes = dialect.normalise(sample.local).fixes
    metrics.accepted("enterprise_registration", Accepted(b"k", b"v", "id", dialect.name, fixes))
    metrics.accepted("enterprise_registration", Accepted(b"k", b"v", "id2", dialect.name, ()))
    value = collector.get_sample_value
    assert value("govbus_normaliser_records_canonical_total",
                 {"item": "enterprise_registration", "dialect": "zhejiang-aic-v2"}) == 2
    assert value("govbus_normaliser_records_changed_total",
                 {"item": "enterprise_registration", "dialect": "zhejiang-aic-v2"}) == 1
    assert value("govbus_normaliser_records_fixed_total", {"item": "enterprise_registration", "kind": "renamed"}) == 1
    assert sum(1 for f in fixes if f.kind is FixKind.RENAMED) > 1
    metrics.rejected_one("enterprise_registration", Rejected("r", "validate", "uscc", "uscc.check_character"))
    assert value("govbus_normaliser_records_rejected_total", {"item": "enterprise_registration", "stage": "validate",
                                                             "rule": "uscc.check_character"}) == 1


def test_schema_of_each_local_topic_is_json_serialisable() -> None:
    for item in ITEMS:
        for dialect in dialects_for(item):
            json.dumps(dialect.event_schema(), ensure_ascii=False)


def test_a_keyless_message_is_not_deduplicated_as_state_is_scoped_by_key() -> None:
    from streams.normaliser import NormaliseStep

    state = object()
    assert NormaliseStep._dedup_scope(b"91330100MA27XXXX1A", state) is state  # type: ignore[arg-type]
    assert NormaliseStep._dedup_scope(None, state) is None  # type: ignore[arg-type]
