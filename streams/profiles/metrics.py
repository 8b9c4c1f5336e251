"""Prometheus metrics of the profile builder, in one object with an injected registry.

Counters are totals since the worker started; times are in seconds.

- ``govbus_profile_rekeyed_total{item,profile,action}``: forwards written to an input topic
  (``action`` = ``record`` or ``remove``).
- ``govbus_profile_rekey_skipped_total{item,reason}``: canonical events forwarded nowhere
  (``undecodable``; ``no_anchor``: the record names no profile key of any profile it feeds).
- ``govbus_profile_inputs_total{profile,side,outcome}``: forwards read by the build step;
  ``applied``; ``stale`` (a duplicate whose version the state already holds); ``undecodable``.
- ``govbus_profile_updates_total{profile,side}``: profile versions written, by the side whose
  change caused them.
- ``govbus_profile_tombstones_total{profile}``: profiles deleted (their anchor record was).
- ``govbus_profile_latency_seconds{stage}``: time to handle one message in the ``rekey`` or
  ``build`` step.

Transaction commits and aborts and the consumer lag per input partition are the engine's
(:class:`streams.engine.EngineMetrics`, ``processor="profiles"``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from govbus.metric_children import Children

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ProfileMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rekeyed = Counter("govbus_profile_rekeyed", "Forwards written to a profile input topic",
                               ["item", "profile", "action"], registry=registry)
        self.rekey_skipped = Counter("govbus_profile_rekey_skipped", "Canonical events forwarded nowhere",
                                     ["item", "reason"], registry=registry)
        self.inputs = Counter("govbus_profile_inputs", "Forwards read by the build stage, by outcome",
                              ["profile", "side", "outcome"], registry=registry)
        self.updates = Counter("govbus_profile_updates", "Profile versions written, by the side that changed",
                               ["profile", "side"], registry=registry)
        self.tombstones = Counter("govbus_profile_tombstones", "Profiles deleted because their anchor was",
                                  ["profile"], registry=registry)
        self.latency = Histogram("govbus_profile_latency_seconds", "Time to handle one message, by step (seconds)",
                                 ["stage"], buckets=_LATENCY_BUCKETS, registry=registry)
        # the children the steps count with, per message: each looked up once
        self.rekeyed_child = Children(self.rekeyed)
        self.inputs_child = Children(self.inputs)
        self.updates_child = Children(self.updates)
        self.tombstones_child = Children(self.tombstones)
