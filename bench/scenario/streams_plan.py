"""Who publishes what, through which path: 12 departments over the four publishing paths and the local dialects.

Each :class:`Stream` is one department's item on one path; the runner spreads the rate over the streams by weight.
Records come from the catalogue's synthetic generator (valid ones, and ``invalid_share`` with a wrong check
character) or, for a local dialect, from the dialect samples (dirty text habits, and bad records the normaliser
dead-letters), in seeded chunks, so a run with the same seed publishes the same records.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from govbus.demo.dialect_samples import DialectSample, samples
from govbus.demo.synthetic_items import records_for
from schemas.catalogue import load_catalogue

SDK, BULK, GATEWAY, OUTBOX, DIALECT = "sdk", "bulk", "gateway", "outbox", "dialect"
PATHS = (SDK, BULK, GATEWAY, OUTBOX, DIALECT)
CHUNK = 200


@dataclass(frozen=True)
class Stream:
    path: str
    department: str
    item: str
    source_system: str
    weight: float = 1.0
    dialect: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path}:{self.department}:{self.item}" + (f":{self.dialect}" if self.dialect else "")


STREAMS: tuple[Stream, ...] = (
    Stream(SDK, "civil-affairs", "social_organisation_registration", "social-org-registry"),
    Stream(SDK, "public-sector-reform", "public_institution_registration", "institution-registry"),
    Stream(SDK, "market-regulation", "enterprise_registration", "aic-archive"),
    Stream(SDK, "finance", "government_procurement_award", "procurement-system"),
    Stream(SDK, "credit", "credit_record", "credit-publicity"),
    Stream(SDK, "public-security", "identity_verification", "population-registry"),
    Stream(BULK, "education", "degree_certification", "degree-archive"),
    Stream(BULK, "housing-construction", "affordable_housing_allocation", "housing-allocation-v1"),
    Stream(BULK, "housing-construction", "construction_tender_award", "tendering-system", weight=0.5),
    Stream(BULK, "state-assets", "state_property_right_transaction", "property-exchange"),
    Stream(GATEWAY, "taxation", "tax_payment_certificate", "tax-collection"),
    Stream(GATEWAY, "human-resources-social-security", "social_insurance_payment", "social-insurance-system"),
    Stream(OUTBOX, "natural-resources", "real_estate_registration", "real-estate-registry"),
    Stream(OUTBOX, "natural-resources", "land_use_right_transfer", "real-estate-registry", weight=0.5),
    Stream(OUTBOX, "natural-resources", "mining_right_transfer", "mining-rights-legacy", weight=0.5),
    Stream(DIALECT, "market-regulation", "enterprise_registration", "zhejiang-aic-v2", dialect="zhejiang-aic-v2"),
    Stream(DIALECT, "market-regulation", "enterprise_registration", "guangdong-scjg-v1", dialect="guangdong-scjg-v1"),
    Stream(DIALECT, "public-security", "identity_verification", "hubei-rkk-v1", dialect="hubei-rkk-v1"),
    Stream(DIALECT, "public-security", "identity_verification", "sichuan-gaj-v3", dialect="sichuan-gaj-v3"),
    Stream(DIALECT, "taxation", "tax_payment_certificate", "shandong-jin3-v1", dialect="shandong-jin3-v1"),
    Stream(DIALECT, "taxation", "tax_payment_certificate", "jiangsu-etax-v2", dialect="jiangsu-etax-v2"),
    Stream(DIALECT, "natural-resources", "real_estate_registration", "guangdong-bdc-v1", dialect="guangdong-bdc-v1"),
    Stream(DIALECT, "natural-resources", "real_estate_registration", "sichuan-bdc-v2", dialect="sichuan-bdc-v2"),
)


def streams() -> tuple[Stream, ...]:
    """The streams whose items the catalogue has (every one, with the catalogue as shipped)."""
    catalogue = load_catalogue()
    return tuple(s for s in STREAMS if s.item in catalogue)


def departments() -> list[str]:
    return sorted({s.department for s in streams()})


def catalogue_records(stream: Stream, seed: int, invalid_share: float) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(record, the rule it breaks or None) for ever, in seeded chunks."""
    item = load_catalogue().get(stream.item)
    chunk = 0
    while True:
        try:
            made = records_for(item, CHUNK, invalid_share, seed=_chunk_seed(seed, stream, chunk))
        except RuntimeError:  # the generator gave up on a record of this chunk's seed: the next chunk's, then
            made = []
        for synthetic in made:
            yield synthetic.record, synthetic.broken_rule
        chunk += 1


def dialect_records(stream: Stream, seed: int, bad_share: float) -> Iterator[DialectSample]:
    """Dialect samples for ever, in seeded chunks."""
    assert stream.dialect is not None
    chunk = 0
    while True:
        yield from samples(stream.item, stream.dialect, CHUNK, bad_share=bad_share,
                           seed=_chunk_seed(seed, stream, chunk))
        chunk += 1


def _chunk_seed(seed: int, stream: Stream, chunk: int) -> int:
    return random.Random(f"{seed}:{stream.name}:{chunk}").randrange(10**9)
