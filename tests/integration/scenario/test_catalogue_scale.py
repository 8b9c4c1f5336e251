"""A generated catalogue of 24 items (bench/scenario/catalogue_gen.py) through the whole platform, on the session's
secured broker and registry, with the scale benchmark's own steps (bench/bench_catalogue_scale.py): topic sync,
schema sync, provisioning (a principal per department, the subscriber and its connector) with the grants, the
subscription to every shareable item and the ACL reconciler, the real normaliser on every item, and the Kafka
delivery connector of that subscription running as its own principal. Every published record is accounted for:
once on its canonical or its dead-letter topic, and each canonical record of a shareable item once on the
subscriber's delivery topic; nothing lost, repeated or unexpected."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.bench_catalogue_scale import (
    STEPS,
    Accounting,
    ScaleRun,
    clean,
    deliver,
    do_step,
    normalise,
    normalised_accounting,
    publish,
    shareable,
)
from bench.scenario.catalogue_gen import generate_catalogue
from schemas.catalogue import SharingClass, load_catalogue
from testsupport.connections import kafka_at, registry_at

ITEMS, PER_ITEM, TIMEOUT = 24, 3, 120.0
NOTHING_AMISS = {"lost": 0, "duplicated": 0, "unexpected": 0}


@pytest.fixture
def run(kafka_bootstrap: str, registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScaleRun]:
    """A 24-item catalogue under a prefix of its own; the test process loads it too (GOVBUS_CATALOGUE_DIR)."""
    catalogue_dir = generate_catalogue(ITEMS, tmp_path / "catalogue", seed=14)
    scale = ScaleRun(kafka_at(kafka_bootstrap), registry_at(registry_url), f"govbus.t-{uuid.uuid4().hex[:10]}",
                     catalogue_dir, tmp_path, partitions=1)
    for name, value in scale.env().items():
        monkeypatch.setenv(name, value)
    try:
        yield scale
    finally:
        clean(scale, subjects=False)


def amiss(accounting: Accounting) -> dict[str, int]:
    return {"lost": accounting.lost, "duplicated": accounting.duplicated, "unexpected": accounting.unexpected}


@pytest.mark.slow  # about 70 s, half of it the sink runtime's lag measurement (docs/scenario/catalogue-scale.md)
def test_twenty_four_generated_items_go_through_the_platform_and_every_record_is_accounted_for(run: ScaleRun) -> None:
    catalogue = load_catalogue()
    assert len(catalogue) == ITEMS and catalogue is load_catalogue(run.catalogue_dir)
    figures = {step: do_step(step, run.kafka, run.registry, run.prefix, run.partitions, run.credentials)
               for step in STEPS}
    assert figures["topics"]["topics"] == 3 * ITEMS and figures["schemas"]["subjects"] == ITEMS
    conditional = [item for item in catalogue if item.sharing_class is SharingClass.CONDITIONAL]
    assert figures["acl"]["grants"] == len(conditional) > 0
    assert figures["acl"]["added"] > 0 and figures["acl"]["steady_changes"] == 0, "a second pass changes nothing"

    published = publish(run, catalogue, PER_ITEM, seed=14)
    assert published.total == ITEMS * PER_ITEM and published.dead, "some records are invalid on purpose"
    normaliser = normalise(run, catalogue, published.total, TIMEOUT)
    assert normaliser["s"] is not None, f"the normaliser did not finish: {normaliser}"
    outcomes = normalised_accounting(run, published)
    assert {stage: amiss(a) for stage, a in outcomes.items()} == {"canonical": NOTHING_AMISS,
                                                                  "dead_letter": NOTHING_AMISS}

    expected = published.delivered(catalogue)
    assert len(shareable(catalogue)) < ITEMS, "a not-shared item's records are never delivered"
    delivery, ids = deliver(run, len(expected), TIMEOUT)  # as the connector's principal, with the reconciled ACLs
    assert delivery["s"] is not None, f"the connector did not deliver everything: {delivery}"
    assert amiss(Accounting.of(expected, ids)) == NOTHING_AMISS
