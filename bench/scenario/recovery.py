"""Publish-to-delivery latency per subscriber, and how long each fault took to recover from.

Latency is the time from ``published_at`` (when govbus published the change) to the delivery (the receiver's
clock for the webhook, the delivery message's broker timestamp for a Kafka subscriber), first receipt of each
event. Recovery is measured from the fault's injection until the bus is back to normal, which is the later of:

- every delivery after it arrives within ``max(5 s, 3 x the p99 before the fault)`` of its hand-off (when the
  department was told its record was accepted: a record waiting in an outbox or a client while a component is
  down counts from then);
- every consumer group's lag is back, for good, to at most the highest lag seen before the fault, or the lag
  it ends a drained run with (the run drains until nothing readable is left: what lag remains is transaction
  markers and records of aborted transactions), or RESIDUE (samples.jsonl; a group whose commits could not be
  read in a sample is left out of that sample). On a cluster the bus may recover before the killed node is back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bench.scenario.spec import RunFiles, read_lines

RESIDUE = 20
"""events of lag a consumer may keep after a fault and still count as recovered"""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _first_receipts(deliveries: list[tuple[str, float, float]]) -> dict[str, tuple[float, float]]:
    """event id -> (first received, published)."""
    first: dict[str, tuple[float, float]] = {}
    for event_id, received, published in deliveries:
        if event_id not in first or received < first[event_id][0]:
            first[event_id] = (received, published)
    return first


def latency_summary(received: Mapping[str, list[tuple[str, float, float]]]) -> dict[str, dict[str, float]]:
    summary = {}
    for subscriber, deliveries in received.items():
        values = [(got - published) * 1000 for got, published in _first_receipts(deliveries).values() if published]
        summary[subscriber] = {"count": len(values), "p50": round(_percentile(values, 0.5), 1),
                               "p99": round(_percentile(values, 0.99), 1), "max": round(max(values, default=0.0), 1)}
    return summary


def recovery_times(files: RunFiles, received: Mapping[str, list[tuple[str, float, float]]],
                   handoff: Mapping[str, float], ignored: frozenset[str] = frozenset(),
                   drained: bool = False) -> list[dict[str, Any]]:
    """Each fault of the run with ``t_recovered`` and ``recovery_s`` filled in (also written back to
    faults.jsonl); ``ignored``: consumers whose lag says nothing (the revoked subscriber's, which can no longer
    read); ``drained``: the run ended with nothing readable left, so its last lags are residue."""
    faults = read_lines(files.faults)
    samples = read_lines(files.samples)
    for fault in faults:
        injected = float(fault["t_injected"])
        by_latency = _latency_recovery(received, handoff, injected)
        by_lag = _lag_recovery(samples, injected, ignored, drained)
        recovered = None if by_latency is None or by_lag is None else max(by_latency, by_lag, injected)
        fault["t_recovered"] = recovered
        fault["recovery_s"] = None if recovered is None else round(recovered - injected, 1)
    if faults:
        files.faults.write_text("".join(json.dumps(f) + "\n" for f in faults), encoding="utf-8")
    return faults


def _latency_recovery(received: Mapping[str, list[tuple[str, float, float]]], handoff: Mapping[str, float],
                      injected: float) -> float | None:
    delays = [(got, got - handoff[event_id]) for deliveries in received.values()
              for event_id, (got, _published) in _first_receipts(deliveries).items() if event_id in handoff]
    before = [delay for got, delay in delays if got < injected]
    threshold = max(5.0, 3 * _percentile(before, 0.99))
    after = sorted((got, delay) for got, delay in delays if got >= injected)
    if not after:
        return None
    late = [got for got, delay in after if delay > threshold]
    return late[-1] if late else after[0][0]


def _lag_recovery(samples: list[dict[str, Any]], injected: float, ignored: frozenset[str],
                  drained: bool) -> float | None:
    """The first sample after the fault's injection from which on every consumer lags no more than it did before
    the fault, than it does at the end of a drained run, or than RESIDUE events (transaction markers and records of
    transactions the fault aborted stay as lag no consumer commits away); a sample that could not read the
    normaliser's lag (the broker away) is not back to normal. On a cluster the bus may recover before the killed
    node is back."""
    before: dict[str, float] = {}
    for sample in samples:
        if sample["t"] < injected:
            for name, lag in sample.get("lag_events", {}).items():
                before[name] = max(before.get(name, 0), lag)
    for name, lag in (samples[-1].get("lag_events", {}) if samples and drained else {}).items():
        before[name] = max(before.get(name, 0), lag)

    def normal(sample: dict[str, Any]) -> bool:  # a group whose commits could not be read is left out of it
        lags = {n: v for n, v in sample.get("lag_events", {}).items() if n not in ignored}
        return "normaliser" in lags and all(lag <= max(before.get(name, 0), RESIDUE) for name, lag in lags.items())

    after = [sample for sample in samples if sample["t"] >= injected]
    last_abnormal = max((float(s["t"]) for s in after if not normal(s)), default=None)
    settled = [float(s["t"]) for s in after if last_abnormal is None or float(s["t"]) > last_abnormal]
    return settled[0] if settled else None
