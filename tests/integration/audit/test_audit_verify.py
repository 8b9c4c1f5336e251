"""`govbus audit verify` on the real broker (issue #11, point 7): chains written to the audit topic with a
connector's key, then tampered with by a writer who has the topic but not the key (a record forged, removed,
reordered or changed; an unsigned chain; a record without a chain; one that does not parse). Each tampered chain
is reported at its first break with its partition and offset, the intact one verifies, and nothing is dropped:
the reader of the audit hands the unparsable record to its caller."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from consumers.audit_reader import read_audit_matching
from govbus import clients
from govbus.audit import AuditRecord, Outcome, audit_topic_spec
from govbus.audit_chain import Chain, digest, encode_signature, signed_bytes
from govbus.audit_keys import SigningKey, load_or_create
from govbus.cli import main
from govbus.topic_names import audit_topic
from govbus.topics import ensure_topics
from testsupport.connections import kafka_at

IDENTITY = "110101199003071237"


def _chain(key: SigningKey | None, subscription: str, count: int) -> list[bytes]:
    chain = Chain(key)
    at = dt.datetime.now(dt.UTC)
    return [chain.seal(AuditRecord(
        at=at + dt.timedelta(milliseconds=n), subscriber="hz-centre", subscription=subscription, connector="webhook",
        item="identity_verification", record_key=f"{IDENTITY}{n}", event_id=str(uuid.uuid4()),
        outcome=Outcome.DELIVERED, fields_delivered=["name"]).model_dump(mode="json", exclude={"link"}))
        for n in range(count)]


def _forged_after(values: list[bytes], thief: SigningKey) -> bytes:
    """A record that looks like the next of the chain (seq, prev, the real key's id) signed by another key."""
    last = json.loads(values[-1])
    forged: dict[str, Any] = {**last, "event_id": str(uuid.uuid4()), "link": {**last["link"], "seq": last["link"]["seq"]
                                                                              + 1, "prev": digest(last)}}
    forged["link"]["sig"] = encode_signature(thief.sign(signed_bytes(forged)))
    return json.dumps(forged).encode()


def _changed(value: bytes) -> bytes:
    return json.dumps({**json.loads(value), "fields_delivered": ["name", "resident_id"]}).encode()


def test_verify_reports_each_tampered_chain_at_its_first_break(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    kafka = kafka_at(kafka_bootstrap)
    ensure_topics(kafka, [audit_topic_spec(prefix)])
    key, thief = load_or_create(tmp_path / "audit.key"), load_or_create(tmp_path / "thief.key")
    intact, forged, removed = _chain(key, "intact", 3), _chain(key, "forged", 3), _chain(key, "removed", 4)
    reordered, changed = _chain(key, "reordered", 4), _chain(key, "changed", 3)
    legacy = AuditRecord.model_validate_json(intact[0]).model_dump_json(exclude={"link"}).encode()
    written: list[tuple[str, bytes]] = [
        *(("intact", v) for v in intact),
        *(("forged", v) for v in [*forged, _forged_after(forged, thief)]),
        *(("removed", v) for v in [removed[0], removed[2], removed[3]]),
        *(("reordered", v) for v in [reordered[0], reordered[2], reordered[1], reordered[3]]),
        *(("changed", v) for v in [changed[0], _changed(changed[1]), changed[2]]),
        *(("unsigned", v) for v in _chain(None, "unsigned", 2)),
        ("legacy", legacy), ("garbage", b"\xff{not json"),
    ]
    producer = clients.producer(kafka)
    for _label, value in written:  # one partition: each record's offset is its place in the list
        producer.produce(audit_topic(prefix), key=b"hz-centre", value=value, partition=0)
    assert producer.flush(15) == 0
    offset = {label: [i for i, (name, _v) in enumerate(written) if name == label] for label, _v in written}

    env = {"GOVBUS_TOPIC_PREFIX": prefix}
    shown = CliRunner().invoke(main, ["audit", "verify", "--json", "--public-key", str(tmp_path / "audit.pub")],
                               env=env)
    assert shown.exit_code == 1, shown.output
    report = json.loads(shown.stdout)
    breaks = {c["subscription"]: c["break"] for c in report["chains"]}
    assert breaks.pop("intact") is None, "the chain nobody touched verifies"
    at = {name: (b["partition"], b["offset"]) for name, b in breaks.items()}
    assert at == {"forged": (0, offset["forged"][3]), "removed": (0, offset["removed"][1]),
                  "reordered": (0, offset["reordered"][1]), "changed": (0, offset["changed"][1]),
                  "unsigned": (0, offset["unsigned"][0])}
    assert "signature" in breaks["forged"]["problem"] and "signature" in breaks["changed"]["problem"]
    assert "seq 2 where 1 was expected" in breaks["removed"]["problem"]
    assert "seq 2 where 1 was expected" in breaks["reordered"]["problem"]
    assert "not signed" in breaks["unsigned"]["problem"]
    assert report["unchained"] == {"count": 1, "records": [{"partition": 0, "offset": offset["legacy"][0]}]}
    assert report["unparsable"] == {"count": 1, "records": [
        {"partition": 0, "offset": offset["garbage"][0], "reason": "not JSON text"}]}
    assert IDENTITY not in shown.output, "no record key in the findings"

    text = CliRunner().invoke(main, ["audit", "verify", "--public-key", str(tmp_path / "audit.pub")], env=env)
    assert text.exit_code == 1
    assert f"chain {json.loads(forged[0])['link']['chain']} (webhook), partition 0 offset {offset['forged'][3]}" \
        in text.output
    assert "the audit does not verify: 5 broken chains, 1 unparsable and 1 unchained records" in text.output

    read = read_audit_matching(kafka, prefix, lambda record: record.subscription == "intact")
    assert len(read.records) == 4, "the chain's 3 records and the unchained copy of its first"
    assert [(u.partition, u.offset) for u in read.unparsable] == [(0, offset["garbage"][0])], "handed on, not dropped"
    untrusted = CliRunner().invoke(main, ["audit", "verify", "--json", "--subscription", "intact",
                                          "--public-key", str(tmp_path / "thief.pub")], env=env)
    [chain] = json.loads(untrusted.stdout)["chains"]
    assert untrusted.exit_code == 1 and "not among the trusted public keys" in chain["break"]["problem"]
