"""`govbus audit verify`: every chain of the audit checked, its first break reported, nothing dropped.

Fed the audit topic's records partition by partition in offset order (:meth:`AuditVerifier.add`), it keeps
one small state per chain (:mod:`govbus.audit_chain`), so memory grows with the number of chains (one per
connector start), not with the records. For each chain the first break is reported, with its partition
and offset:

- a signature that does not match the record (a field changed, or a record forged without the key), a key
  that is not trusted, or no signature at all (a connector without ``GOVBUS_AUDIT_KEY_FILE``);
- a ``seq`` other than the next one (records removed, repeated or reordered), or a first record that is not
  seq 0 (the chain's beginning is gone);
- a ``prev`` that is not the digest of the record before it (a record replaced);
- a chain found in two partitions (it cannot be ordered).

After its first break a chain is only counted. Records that do not parse, and records without a chain
(written before the audit was chained, or by someone else), are listed with their offsets too. The
findings never hold a record's values (a record key may be an identity number).

A reader that follows the topic from a committed offset rather than from its start (the audit indexer, which
counts breaks as it indexes) sets ``resume``: a chain first seen past its seq 0 is taken up where it is (its
earlier records were checked before, or lie before the reader's start; ``govbus audit verify`` checks whole
chains). Without public keys to check against (``check_signatures`` false) only the links are checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from govbus.audit_chain import decode_signature, digest, signed_bytes
from govbus.audit_keys import KEY_FILE_VARIABLE, VerifyKey
from govbus.audit_record import AuditRecord, Unparsable, UnparsableValue, parse_value

LISTED = 1000
"""unparsable and unchained records listed at most (all are counted)"""


@dataclass(frozen=True)
class Break:
    """The first place a chain does not verify."""

    partition: int
    offset: int
    seq: int
    problem: str


@dataclass
class ChainState:
    """What is known of one chain so far."""

    chain: str
    subscription: str
    connector: str
    partition: int
    first_offset: int
    first_at: dt.datetime
    last_offset: int = -1
    last_at: dt.datetime | None = None
    records: int = 0
    next_seq: int = 0
    last_digest: str | None = None
    key: str | None = None
    broken: Break | None = None

    def summary(self) -> dict[str, Any]:
        return {"chain": self.chain, "subscription": self.subscription, "connector": self.connector,
                "partition": self.partition, "first_offset": self.first_offset, "last_offset": self.last_offset,
                "first_at": self.first_at.isoformat(), "last_at": self.last_at.isoformat() if self.last_at else None,
                "records": self.records, "key": self.key,
                "break": None if self.broken is None else vars(self.broken)}


@dataclass
class VerifyReport:
    """The outcome of a verification: ``ok`` when every chain verifies and every record parsed and was chained."""

    chains: list[ChainState]
    records: int
    unparsable: list[Unparsable]
    unparsable_count: int
    unchained: list[tuple[int, int]]
    unchained_count: int

    @property
    def breaks(self) -> list[ChainState]:
        return [c for c in self.chains if c.broken is not None]

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.unparsable_count and not self.unchained_count

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "chains": [c.summary() for c in self.chains],
                "breaks": len(self.breaks),
                "unparsable": {"count": self.unparsable_count, "records": [vars(u) for u in self.unparsable]},
                "unchained": {"count": self.unchained_count,
                              "records": [{"partition": p, "offset": o} for p, o in self.unchained]}}


@dataclass
class AuditVerifier:
    """Checks records as they are read (see the module docstring); :meth:`report` at the end."""

    keys: Iterable[VerifyKey]
    subscription: str | None = None
    """only the chains (and unchained records) of this subscription; unparsable records are always reported"""
    resume: bool = False
    """a chain first seen past its seq 0 is taken up there (see the module docstring)"""
    check_signatures: bool = True
    """False: the links (seq, prev) only, for a reader that holds no public key"""
    records: int = 0
    _trusted: dict[str, VerifyKey] = field(default_factory=dict)
    _chains: dict[str, ChainState] = field(default_factory=dict)
    _unparsable: list[Unparsable] = field(default_factory=list)
    _unparsable_count: int = 0
    _unchained: list[tuple[int, int]] = field(default_factory=list)
    _unchained_count: int = 0

    def __post_init__(self) -> None:
        self._trusted = {key.key_id: key for key in self.keys}

    def add(self, partition: int, offset: int, value: bytes | None) -> ChainState | None:
        """Check the record at ``partition``/``offset``; records of one partition in offset order. The chain
        this record breaks (its first break), else None."""
        self.records += 1
        try:
            document, record = parse_value(value)
        except UnparsableValue as why:
            self._unparsable_count += 1
            if len(self._unparsable) < LISTED:
                self._unparsable.append(Unparsable(partition, offset, str(why)))
            return None
        if self.subscription is not None and record.subscription != self.subscription:
            return None
        if record.link is None:
            self._unchained_count += 1
            if len(self._unchained) < LISTED:
                self._unchained.append((partition, offset))
            return None
        state = self._chains.get(record.link.chain)
        if state is None:
            state = self._chains[record.link.chain] = ChainState(
                record.link.chain, record.subscription, record.connector, partition, offset, record.at,
                key=record.link.key)
        state.records += 1
        state.last_offset, state.last_at = offset, record.at
        if state.broken is not None:
            return None
        problem = self._problem(state, partition, document, record)
        if problem is not None:
            state.broken = Break(partition, offset, record.link.seq, problem)
            return state
        state.next_seq, state.last_digest = record.link.seq + 1, digest(document)
        return None

    def _problem(self, state: ChainState, partition: int, document: dict[str, Any],
                 record: AuditRecord) -> str | None:
        """What is wrong with ``record`` as the next record of ``state``'s chain, or None."""
        link = record.link
        assert link is not None
        if partition != state.partition:
            return (f"the chain continues in partition {partition} after partition {state.partition}: its order "
                    "is lost (were partitions added to the audit topic?)")
        signature = self._signature_problem(document, link.key, link.sig) if self.check_signatures else None
        if signature is not None:
            return signature
        if self.resume and state.records == 1:
            return None  # taken up where it is
        if link.seq != state.next_seq:
            if state.records == 1:
                return (f"the chain starts at seq {link.seq}: its first {link.seq} records are not on the topic "
                        "(removed, or archived elsewhere)")
            if link.seq > state.next_seq:
                return (f"seq {link.seq} where {state.next_seq} was expected: {link.seq - state.next_seq} record(s) "
                        "of the chain missing before it (removed or reordered)")
            return f"seq {link.seq} again after seq {state.next_seq - 1}: a record repeated or out of order"
        if link.prev != state.last_digest:
            return (f"its prev does not match the digest of the chain's record seq {link.seq - 1}: a record was "
                    "replaced" if link.seq else "the chain's first record names a record before it")
        return None

    def _signature_problem(self, document: dict[str, Any], key_id: str | None, sig: str | None) -> str | None:
        if key_id is None or sig is None:
            return f"not signed (its connector had no {KEY_FILE_VARIABLE}): the chain cannot show tampering"
        key = self._trusted.get(key_id)
        if key is None:
            return f"signed with key {key_id}, which is not among the trusted public keys (--public-key)"
        signature = decode_signature(sig)
        if signature is None or not key.verifies(signature, signed_bytes(document)):
            return "the signature does not match the record: a field was changed, or the record forged without the key"
        return None

    def report(self) -> VerifyReport:
        chains = sorted(self._chains.values(), key=lambda c: (c.subscription, c.first_at, c.chain))
        return VerifyReport(chains, self.records, list(self._unparsable), self._unparsable_count,
                            list(self._unchained), self._unchained_count)
