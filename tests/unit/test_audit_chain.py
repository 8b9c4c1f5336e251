"""The audit chain (issue #11, point 7) without a broker: a writer's chain verifies; a changed, forged, removed,
repeated or reordered record is the first break, at its offset; unsigned, untrusted and unchained records and
records that do not parse are reported, never dropped; keys are private files; a lost write starts a new chain."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaError

from govbus.audit import AuditRecord, AuditWriter, Outcome, UnparsableValue, parse_value
from govbus.audit_chain import Chain, digest, encode_signature, signed_bytes
from govbus.audit_keys import AuditKeySettings, SigningKey, load_or_create, load_signing_key, load_verify_key
from govbus.audit_verify import AuditVerifier
from govbus.cli import main
from govbus.exceptions import ConfigurationError
from govbus.platform import dev

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
IDENTITY = "110101199003071237"


def _record(n: int, subscription: str = "hz-webhook") -> AuditRecord:
    return AuditRecord(at=T0 + dt.timedelta(seconds=n), subscriber="hz-centre", subscription=subscription,
                       connector="webhook", item="identity_verification", record_key=f"{IDENTITY}-{n}",
                       event_id=f"e-{n}", outcome=Outcome.DELIVERED, fields_delivered=["name"])


def _body(record: AuditRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"link"})


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return load_or_create(tmp_path / "audit.key")


def _chain(key: SigningKey | None, count: int, subscription: str = "hz-webhook") -> list[bytes]:
    chain = Chain(key)
    return [chain.seal(_body(_record(n, subscription))) for n in range(count)]


def _verify(key: SigningKey, values: list[bytes | None], subscription: str | None = None) -> AuditVerifier:
    verifier = AuditVerifier([key.public], subscription)
    for offset, value in enumerate(values):
        verifier.add(0, offset, value)
    return verifier


def _changed(value: bytes, **fields: Any) -> bytes:
    return json.dumps({**json.loads(value), **fields}, indent=1).encode()


def test_a_writers_chain_verifies_even_reindented(key: SigningKey) -> None:
    values = _chain(key, 5)
    report = _verify(key, [json.dumps(json.loads(v), indent=2).encode() for v in values]).report()
    assert report.ok and report.records == 5
    [chain] = report.chains
    assert (chain.records, chain.first_offset, chain.last_offset, chain.broken) == (5, 0, 4, None)
    document = json.loads(values[1])
    assert document["link"]["seq"] == 1 and document["link"]["prev"] == digest(json.loads(values[0]))
    assert key.public.verifies(base64.b64decode(document["link"]["sig"]), signed_bytes(document))


@pytest.mark.parametrize(("tamper", "offset", "problem"), [
    (lambda v: [*v[:2], _changed(v[2], fields_delivered=["name", "resident_id"]), *v[3:]], 2, "signature"),
    (lambda v: [*v[:2], *v[3:]], 2, "seq 3 where 2 was expected"),
    (lambda v: [v[0], v[1], v[3], v[2], v[4]], 2, "seq 3 where 2 was expected"),
    (lambda v: [*v[:3], v[1], *v[3:]], 3, "seq 1 again after seq 2"),
    (lambda v: v[1:], 0, "starts at seq 1"),
])
def test_tampering_is_the_first_break_at_its_offset(key: SigningKey, tamper: Any, offset: int, problem: str) -> None:
    report = _verify(key, tamper(_chain(key, 5))).report()
    [broken] = report.breaks
    assert broken.broken is not None and broken.broken.offset == offset and problem in broken.broken.problem
    assert not report.ok and IDENTITY not in json.dumps(report.as_json())


def test_a_forged_record_without_the_key_is_found(key: SigningKey, tmp_path: Path) -> None:
    values = _chain(key, 3)
    last = json.loads(values[-1])
    forged: dict[str, Any] = {**_body(_record(9)), "link": {**last["link"], "seq": 3, "prev": digest(last)}}
    thief = load_or_create(tmp_path / "thief.key")
    forged["link"]["sig"] = encode_signature(thief.sign(signed_bytes(forged)))  # the real key's id, another key
    [broken] = _verify(key, [*values, json.dumps(forged).encode()]).report().breaks
    assert broken.broken is not None and broken.broken.offset == 3 and "signature" in broken.broken.problem
    forged["link"]["key"] = thief.key_id
    [untrusted] = _verify(key, [*values, json.dumps(forged).encode()]).report().breaks
    assert untrusted.broken is not None and "not among the trusted" in untrusted.broken.problem


def test_unsigned_unchained_and_unparsable_records_are_reported(key: SigningKey) -> None:
    legacy = _record(7).model_dump_json(exclude={"link"}).encode()
    values: list[bytes | None] = [*_chain(None, 2), legacy, b"{not json", None,
                                  json.dumps({"record_key": IDENTITY}).encode()]
    report = _verify(key, values).report()
    [unsigned] = report.breaks
    assert unsigned.broken is not None and unsigned.broken.offset == 0 and "not signed" in unsigned.broken.problem
    assert report.unchained == [(0, 2)]
    assert [(u.offset, u.reason.split(" (")[0]) for u in report.unparsable] == [
        (3, "not JSON text"), (4, "no value"), (5, "not an audit record")]
    assert IDENTITY not in json.dumps(report.as_json()), "findings never hold a record's values"
    with pytest.raises(UnparsableValue) as refused:
        parse_value(json.dumps({**_body(_record(1)), "attempts": f"id {IDENTITY}"}).encode())
    assert IDENTITY not in str(refused.value)


def test_one_subscriptions_chains_only(key: SigningKey) -> None:
    values = [*_chain(key, 2, "a"), *_chain(None, 2, "b")]
    assert _verify(key, values, subscription="a").report().ok
    assert not _verify(key, values).report().ok


def test_a_record_the_broker_did_not_store_starts_a_new_chain(key: SigningKey) -> None:
    producer = _Producer()
    writer = AuditWriter(producer, "govbus", key)  # type: ignore[arg-type]
    writer.append(_record(0))
    writer.append(_record(1))
    first = writer.chain_id
    producer.fail_next = True
    writer.append(_record(2))
    writer.append(_record(3))
    assert writer.chain_id != first
    stored = [json.loads(value) for value in producer.stored]
    assert [(d["link"]["chain"] == first, d["link"]["seq"]) for d in stored] == [(True, 0), (True, 1), (False, 0)]
    assert _verify(key, producer.stored).report().ok


class _Producer:
    """Stores what is produced, or fails the delivery of the next record."""

    def __init__(self) -> None:
        self.stored: list[bytes] = []
        self.fail_next = False

    def produce(self, _topic: str, key: bytes, value: bytes, timestamp: int, on_delivery: Any) -> None:
        if self.fail_next:
            self.fail_next = False
            on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), None)
            return
        self.stored.append(value)
        on_delivery(None, None)


def test_keys_are_private_files_made_once(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "audit.key"
    key = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "dev" / "audit.pub").is_file()
    assert load_or_create(path).key_id == key.key_id, "kept: records signed with it verify only against it"
    assert load_verify_key(tmp_path / "dev" / "audit.pub").key_id == key.key_id == load_verify_key(path).key_id
    assert "PRIVATE" not in repr(key) and "BEGIN" not in repr(key)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_signing_key(path)
    (tmp_path / "junk.key").write_text("not a key")
    (tmp_path / "junk.key").chmod(0o600)
    with pytest.raises(ConfigurationError, match="openssl genpkey"):
        AuditKeySettings(audit_key_file=tmp_path / "junk.key").audit_signing_key()
    assert AuditKeySettings(audit_key_file=None).audit_signing_key() is None


def test_the_local_platform_hands_its_audit_key_to_what_it_starts(tmp_path: Path) -> None:
    state = dev.PlatformState(kafka_bootstrap="127.0.0.1:19092", registry_url="http://127.0.0.1:18081", kafka_pid=1,
                              registry_pid=2, kafka_version="4.4.0", data_dir=str(tmp_path))
    assert "GOVBUS_AUDIT_KEY_FILE" not in state.env(), "a platform started before the key existed"
    load_or_create(tmp_path / "audit.key")
    assert state.env()["GOVBUS_AUDIT_KEY_FILE"] == str(tmp_path / "audit.key")


def test_keygen_makes_a_pair_once_and_prints_no_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    made = CliRunner().invoke(main, ["audit", "keygen", str(path)])
    key = load_signing_key(path)
    assert made.exit_code == 0 and f"made a new key {key.key_id}" in made.output and "BEGIN" not in made.output
    again = CliRunner().invoke(main, ["audit", "keygen", str(path)])
    assert again.exit_code == 0 and f"kept the existing key {key.key_id}" in again.output
    assert load_verify_key(tmp_path / "audit.pub").key_id == key.key_id
