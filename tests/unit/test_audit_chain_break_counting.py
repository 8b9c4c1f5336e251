"""The chain checks a reader following the audit from a committed offset uses (the audit indexer's
govbus_audit_chain_breaks_total): a chain taken up mid-way is not a break, a later gap or a changed record is,
``add`` names the chain it breaks (once), and without public keys only the links are checked."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from govbus.audit import AuditRecord, Outcome
from govbus.audit_chain import Chain
from govbus.audit_keys import SigningKey, load_or_create
from govbus.audit_verify import AuditVerifier, ChainState

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return load_or_create(tmp_path / "audit.key")


def _chain(key: SigningKey | None, count: int) -> list[bytes]:
    chain = Chain(key)
    return [chain.seal(AuditRecord(at=T0 + dt.timedelta(seconds=n), subscriber="hz-centre", subscription="hz",
                                   connector="kafka", item="enterprise_registration", record_key=f"k-{n}",
                                   event_id=f"e-{n}", outcome=Outcome.DELIVERED).model_dump(mode="json",
                                                                                           exclude={"link"}))
            for n in range(count)]


def _breaks(verifier: AuditVerifier, values: list[bytes], first_offset: int = 0) -> list[tuple[int, ChainState]]:
    found = []
    for offset, value in enumerate(values, start=first_offset):
        broken = verifier.add(0, offset, value)
        if broken is not None:
            found.append((offset, broken))
    return found


def test_a_chain_taken_up_mid_way_is_no_break_when_resuming(key: SigningKey) -> None:
    values = _chain(key, 6)
    assert _breaks(AuditVerifier([key.public], resume=True), values[3:], 3) == []
    [(offset, chain)] = _breaks(AuditVerifier([key.public]), values[3:], 3)
    assert offset == 3 and chain.broken is not None and "starts at seq 3" in chain.broken.problem


def test_a_gap_after_the_start_is_one_break_named_with_its_connector(key: SigningKey) -> None:
    values = _chain(key, 8)
    [(offset, chain)] = _breaks(AuditVerifier([key.public], resume=True), [*values[2:5], *values[6:]], 2)
    assert offset == 5 and chain.connector == "kafka"
    assert chain.broken is not None and "seq 6 where 5 was expected" in chain.broken.problem


def test_without_keys_the_links_are_checked_and_signatures_are_not(key: SigningKey) -> None:
    values = _chain(key, 4)
    forged = json.loads(values[3])
    forged["link"]["sig"] = "AAAA"  # the last record: no later record's prev covers it
    unsigned = AuditVerifier([], resume=True, check_signatures=False)
    assert _breaks(unsigned, [*values[:3], json.dumps(forged).encode()]) == []
    [(offset, _state)] = _breaks(AuditVerifier([key.public], resume=True), [*values[:3], json.dumps(forged).encode()])
    assert offset == 3, "with the key, the forged signature is the break"
    replaced = json.loads(values[3])
    replaced["link"]["prev"] = "0" * 64
    [(offset, chain)] = _breaks(AuditVerifier([], resume=True, check_signatures=False),
                                [*values[:3], json.dumps(replaced).encode()])
    assert offset == 3 and chain.broken is not None and "prev" in chain.broken.problem
