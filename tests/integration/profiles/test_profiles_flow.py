"""The profile builder, step by step, on one worker started through the CLI: every side re-emits,
deletes remove a side, a record that changes its identifier moves, records without the profile's
identifier stay out, a deleted anchor tombstones the profile and a new one brings it back with
the kept sides; then /metrics agrees with what is on the topics."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from profiles_support import ProfileDecoder, ProfileRun, event_id, output_messages, profile_env, wait_for
from prometheus_client.parser import text_string_to_metric_families

from govbus.demo.synthetic_items import records_for
from govbus.envelope import ChangeEvent, Operation
from govbus.platform.components import Component
from govbus.platform.processes import free_port, start_process
from schemas.catalogue import load_catalogue
from schemas.catalogue.profiles import HEADER_CAUSED_BY, load_profile
from streams.profiles.state import avro_native
from testsupport.cloud_events import check_profile_event
from testsupport.profile_inputs import CanonicalEvent, CanonicalProducer

ENTERPRISE, PERSON = load_profile("enterprise"), load_profile("person")
CATALOGUE = load_catalogue()


class Desk:
    """Produces canonical events one at a time and reads the profiles they cause."""

    def __init__(self, run: ProfileRun, bootstrap: str, registry_url: str, metrics_port: int) -> None:
        self.run = run
        self.bootstrap = bootstrap
        self.registry_url = registry_url
        self.metrics_port = metrics_port
        self.producer = CanonicalProducer(bootstrap, registry_url, run.env["GOVBUS_TOPIC_PREFIX"])
        self._seed = 100

    def record(self, item: str, **fields: Any) -> dict[str, Any]:
        """A valid record of ``item`` with ``fields`` set."""
        self._seed += 1
        base = records_for(CATALOGUE.get(item), 1, seed=self._seed)[0].record
        return CATALOGUE.get(item).validate({**base, **fields})

    def upsert(self, item: str, record: dict[str, Any]) -> ChangeEvent:
        return self._produce(item, CATALOGUE.get(item).key_of(record), record)

    def delete(self, item: str, key: str) -> ChangeEvent:
        return self._produce(item, key, None)

    def _produce(self, item: str, key: str, record: dict[str, Any] | None) -> ChangeEvent:
        now = dt.datetime.now(dt.UTC)
        event = ChangeEvent(data_item=item, department=CATALOGUE.get(item).department, source_system="test",
                            operation=Operation.DELETE if record is None else Operation.UPSERT, record_key=key,
                            occurred_at=now, record=record)
        self.producer.produce([CanonicalEvent(item, event)])
        return event

    def messages(self, profile: str, key: str) -> list[tuple[bytes, bytes | None, tuple[tuple[str, bytes], ...]]]:
        topic = self.run.topology.output_topic(profile)
        return [m for m in output_messages(self.bootstrap, topic) if m[0] == key.encode()]

    def wait(self, profile: str, key: str, count: int) -> list[Any]:
        """The first ``count`` messages of ``key``, once there are that many (never more)."""
        wait_for(lambda: len(self.messages(profile, key)) >= count, 60, f"{count} {profile} profiles of {key}",
                 self.run.workers)
        time.sleep(0.5)
        found = self.messages(profile, key)
        assert len(found) == count, f"{profile} {key}: {len(found)} messages, expected {count}"
        return found

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def wait_metric(self, at_least: float, name: str, **labels: str) -> None:
        wait_for(lambda: self.metric(name, **labels) >= at_least, 60, f"{name}{labels} >= {at_least}",
                 self.run.workers)


@pytest.fixture(scope="module")
def desk(kafka_bootstrap: str, registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    directory = tmp_path_factory.mktemp("profiles-flow")
    port = free_port()
    run = ProfileRun(profile_env(kafka_bootstrap, registry_url, f"govbus.t-{uuid.uuid4().hex[:10]}",
                                 GOVBUS_STREAMS_STATE_DIR=str(directory / "state")), directory)
    govbus = str(Path(sys.executable).parent / "govbus")
    created = start_process([govbus, "streams", "profiles", "--create-topics"], directory / "topics.log", run.env)
    wait_for(lambda: "topics ready" in _text(directory / "topics.log"), 60, "govbus streams profiles --create-topics")
    assert f"{run.topology.output_topic('enterprise')}  partitions=3  compact" in _text(directory / "topics.log")
    del created
    pid = start_process([govbus, "streams", "profiles", "--metrics-port", str(port)], directory / "worker.log",
                        run.env)
    run.workers.append(Component("cli-worker", pid, directory / "worker.log"))
    try:
        yield Desk(run, kafka_bootstrap, registry_url, port)
    finally:
        run.stop_all()


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _content(definition: Any, message: Any) -> dict[str, Any]:
    content = ProfileDecoder(definition).content(message[1])
    assert content is not None
    return content


def _millis(moment: dt.datetime) -> dt.datetime:
    """``moment`` as Avro's timestamp-millis keeps it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _cause(definition: Any, message: Any) -> dict[str, Any]:
    return dict(ProfileDecoder(definition).decode(message[1])["caused_by"])


def test_enterprise_sides_update_delete_and_move(desk: Desk) -> None:
    a = desk.record("enterprise_registration")
    desk.upsert("enterprise_registration", a)
    [first] = desk.wait("enterprise", a["uscc"], 1)
    assert _content(ENTERPRISE, first) == {
        "uscc": a["uscc"], "registration": avro_native(a), "latest_tax_payment_certificate": None,
        "tax_payment_certificate_count": 0, "credit_records": [], "procurement_awards": []}

    paid = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    tax1 = desk.record("tax_payment_certificate", taxpayer_kind="ORGANISATION", taxpayer_uscc=a["uscc"],
                       taxpayer_resident_id=None, paid_at=paid)
    tax2 = desk.record("tax_payment_certificate", taxpayer_kind="ORGANISATION", taxpayer_uscc=a["uscc"],
                       taxpayer_resident_id=None, paid_at=paid + dt.timedelta(days=30))
    desk.upsert("tax_payment_certificate", tax1)
    desk.wait("enterprise", a["uscc"], 2)
    desk.upsert("tax_payment_certificate", tax2)
    latest = _content(ENTERPRISE, desk.wait("enterprise", a["uscc"], 3)[-1])
    assert latest["latest_tax_payment_certificate"] == avro_native(tax2)
    assert latest["tax_payment_certificate_count"] == 2
    deleted = desk.delete("tax_payment_certificate", tax2["certificate_number"])
    after_delete = desk.wait("enterprise", a["uscc"], 4)[-1]
    assert _content(ENTERPRISE, after_delete)["latest_tax_payment_certificate"] == avro_native(tax1)
    assert _content(ENTERPRISE, after_delete)["tax_payment_certificate_count"] == 1
    assert _cause(ENTERPRISE, after_delete)["operation"] == "DELETE"
    assert dict(after_delete[2])[HEADER_CAUSED_BY] == str(deleted.event_id).encode()

    b = desk.record("enterprise_registration")
    desk.upsert("enterprise_registration", b)
    desk.wait("enterprise", b["uscc"], 1)
    credit = desk.record("credit_record", subject_kind="LEGAL_PERSON", subject_uscc=a["uscc"], subject_resident_id=None)
    desk.upsert("credit_record", credit)
    assert _content(ENTERPRISE, desk.wait("enterprise", a["uscc"], 5)[-1])["credit_records"] == [avro_native(credit)]
    moved = {**credit, "subject_uscc": b["uscc"]}
    desk.upsert("credit_record", moved)
    left = desk.wait("enterprise", a["uscc"], 6)[-1]
    assert _content(ENTERPRISE, left)["credit_records"] == []
    assert _cause(ENTERPRISE, left)["operation"] == "REMOVE"
    assert _content(ENTERPRISE, desk.wait("enterprise", b["uscc"], 2)[-1])["credit_records"] == [avro_native(moved)]
    desk.delete("credit_record", credit["decision_number"])
    assert _content(ENTERPRISE, desk.wait("enterprise", b["uscc"], 3)[-1])["credit_records"] == []
    assert len(desk.messages("enterprise", a["uscc"])) == 6, "the delete must not touch the profile it left"


def test_a_deleted_registration_tombstones_and_a_new_one_brings_the_kept_sides_back(desk: Desk) -> None:
    c = desk.record("enterprise_registration")
    award = desk.record("government_procurement_award", supplier_uscc=c["uscc"])
    applied_before = desk.metric("govbus_profile_inputs_total", profile="enterprise", side="procurement_awards",
                                 outcome="applied")
    desk.upsert("government_procurement_award", award)
    desk.wait_metric(applied_before + 1, "govbus_profile_inputs_total", profile="enterprise",
                     side="procurement_awards", outcome="applied")
    assert desk.messages("enterprise", c["uscc"]) == [], "no profile without its registration"
    registered = desk.upsert("enterprise_registration", c)
    [first] = desk.wait("enterprise", c["uscc"], 1)
    assert _content(ENTERPRISE, first)["procurement_awards"] == [avro_native(award)]

    deletion = desk.delete("enterprise_registration", c["uscc"])
    tombstone = desk.wait("enterprise", c["uscc"], 2)[-1]
    assert tombstone[1] is None
    assert dict(tombstone[2])[HEADER_CAUSED_BY] == str(deletion.event_id).encode()
    assert event_id(tombstone) != event_id(first)
    # read by the CloudEvents SDK: the profile event's id, time of the change that caused it, the key as subject
    for message, cause in ((first, registered), (tombstone, deletion)):
        check_profile_event(message[2], message[0], message[1], "enterprise", event_id(message),
                            _millis(cause.occurred_at), desk.registry_url)

    credit = desk.record("credit_record", subject_kind="LEGAL_PERSON", subject_uscc=c["uscc"], subject_resident_id=None)
    applied_before = desk.metric("govbus_profile_inputs_total", profile="enterprise", side="credit_records",
                                 outcome="applied")
    desk.upsert("credit_record", credit)
    desk.wait_metric(applied_before + 1, "govbus_profile_inputs_total", profile="enterprise", side="credit_records",
                     outcome="applied")
    assert len(desk.messages("enterprise", c["uscc"])) == 2, "a tombstoned profile stays gone"
    again = {**c, "address": c["address"] + "（迁址）"}
    desk.upsert("enterprise_registration", again)
    back = _content(ENTERPRISE, desk.wait("enterprise", c["uscc"], 3)[-1])
    assert back["registration"] == avro_native(again)
    assert back["procurement_awards"] == [avro_native(award)] and back["credit_records"] == [avro_native(credit)]


def test_records_without_the_profile_identifier_stay_out(desk: Desk) -> None:
    person = desk.record("identity_verification")
    desk.upsert("identity_verification", person)
    desk.wait("person", person["resident_id"], 1)
    skipped = {item: desk.metric("govbus_profile_rekey_skipped_total", item=item, reason="no_anchor")
               for item in ("tax_payment_certificate", "real_estate_registration")}
    individual_tax = desk.record("tax_payment_certificate", taxpayer_kind="INDIVIDUAL", taxpayer_uscc=None,
                                 taxpayer_resident_id=person["resident_id"])
    organisation_title = desk.record("real_estate_registration", owner_kind="ORGANISATION", owner_resident_id=None,
                                     owner_uscc=desk.record("enterprise_registration")["uscc"])
    desk.upsert("tax_payment_certificate", individual_tax)
    desk.upsert("real_estate_registration", organisation_title)
    for item, before in skipped.items():
        desk.wait_metric(before + 1, "govbus_profile_rekey_skipped_total", item=item, reason="no_anchor")

    degree = desk.record("degree_certification", holder_resident_id=person["resident_id"])
    title = desk.record("real_estate_registration", owner_kind="NATURAL_PERSON", owner_uscc=None,
                        owner_resident_id=person["resident_id"])
    desk.upsert("degree_certification", degree)
    desk.wait("person", person["resident_id"], 2)
    desk.upsert("real_estate_registration", title)
    profile = _content(PERSON, desk.wait("person", person["resident_id"], 3)[-1])
    assert profile["degree_certifications"] == [avro_native(degree)]
    assert profile["real_estate_titles"] == [avro_native(title)]
    desk.delete("identity_verification", person["resident_id"])
    assert desk.wait("person", person["resident_id"], 4)[-1][1] is None


def test_metrics_agree_with_the_topics(desk: Desk) -> None:
    for definition in (ENTERPRISE, PERSON):
        messages = output_messages(desk.bootstrap, desk.run.topology.output_topic(definition.name))
        tombstones = sum(1 for m in messages if m[1] is None)
        assert messages and tombstones
        assert desk.metric("govbus_profile_tombstones_total", profile=definition.name) == tombstones
        assert desk.metric("govbus_profile_updates_total", profile=definition.name) == len(messages) - tombstones
        assert desk.metric("govbus_profile_updates_total", profile=definition.name,
                           side=definition.anchor.side) >= 1
    for stage in ("rekey", "build"):
        assert desk.metric("govbus_profile_latency_seconds_count", stage=stage) > 0
    input_topic = desk.run.topology.repartition_topic("enterprise")
    assert desk.metric("govbus_streams_consumer_lag_records", topic=input_topic) == 0
    text = httpx.get(f"http://127.0.0.1:{desk.metrics_port}/metrics", timeout=5).text
    assert f'topic="{input_topic}"' in text, "the lag of the input topic is exported"
