"""The exporter's metric families, made afresh from each refresh's reading (pure), and the collector serving the
last ones made.

A family is built whole at each refresh and replaces the previous one, so a group, topic, subscription or grant
that is gone has no series any more (nothing stays behind as it would in a labelled Gauge). What a refresh
could not read keeps its previous families: the last values are served, and the failure is counted in
``govbus_exporter_refresh_errors_total``.

=================================================  ===============================================================
metric {labels}                                    value
=================================================  ===============================================================
``govbus_group_lag_events`` {group,topic}          end offset minus committed offset, summed over the partitions
                                                   the group committed on
``govbus_group_lag_seconds`` {group,topic}         age of the oldest record not consumed (0 when caught up)
``govbus_subscription_lag_events`` {subscription}  the lag of the subscription's connector group on every
                                                   partition of its authorised source topics, running or not
``govbus_subscription_lag_seconds`` {subscription} the oldest waiting event's age
``govbus_subscription_idle_seconds``               seconds since its group last moved while events waited
{subscription}                                     (0 when caught up; :mod:`govbus.operations.idle`)
``govbus_subscription_silent`` {subscription}      1 when idle longer than
                                                   ``GOVBUS_EXPORTER_SUBSCRIBER_SILENT_AFTER_SECONDS``
``govbus_topic_end_offset`` {topic,kind}           sum of the partitions' end offsets (rate() is the throughput)
``govbus_grant_expiry_timestamp_seconds``          when an active grant expires (unix seconds)
{department,subscriber,item,grant}
``govbus_exporter_refresh_errors_total``           refreshes that failed (the last values are kept)
``govbus_exporter_last_refresh_timestamp_seconds`` when the last refresh that read everything ended
``govbus_exporter_refresh_duration_seconds``       how long that refresh took
=================================================  ===============================================================
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from govbus.operations.grants import GRANT_LABELS
from govbus.operations.lag import PartitionEnds, Position, Target, lag_by_topic
from govbus.operations.subscriptions import SubscriptionLag
from govbus.operations.topic_kinds import TopicKinds


@dataclass(frozen=True)
class Reading:
    """What one refresh read from the broker."""

    topics: dict[str, list[int]]
    """the topics under the prefix -> their partitions"""
    ends: dict[Position, PartitionEnds]
    committed: dict[str, dict[Position, int]]
    """watched group -> its committed offsets on topics under the prefix"""
    times: dict[Target, float]
    """the timestamps (unix seconds) of the oldest waiting records"""


def group_families(reading: Reading, now: float) -> list[Metric]:
    events = GaugeMetricFamily("govbus_group_lag_events", "Events not consumed by the group: end offset minus "
                               "committed offset, summed over the partitions it committed on",
                               labels=["group", "topic"])
    seconds = GaugeMetricFamily("govbus_group_lag_seconds", "Age of the oldest event not consumed by the group "
                                "(0 when caught up)", labels=["group", "topic"])
    for group, committed in sorted(reading.committed.items()):
        positions: Mapping[Position, int | None] = committed
        for topic, lag in sorted(lag_by_topic(positions, reading.ends, reading.times).items()):
            events.add_metric([group, topic], lag.events)
            seconds.add_metric([group, topic], lag.seconds(now))
    return [events, seconds]


def topic_families(reading: Reading, kinds: TopicKinds) -> list[Metric]:
    ends = GaugeMetricFamily("govbus_topic_end_offset", "Sum of the partitions' end offsets (rate() of it is the "
                             "topic's throughput)", labels=["topic", "kind"])
    for topic, partitions in sorted(reading.topics.items()):
        found = [reading.ends[(topic, p)].end for p in partitions if (topic, p) in reading.ends]
        ends.add_metric([topic, kinds.kind(topic)], sum(found))
    return [ends]


def subscription_families(lags: Iterable[SubscriptionLag]) -> list[Metric]:
    labels = ["subscription"]
    events = GaugeMetricFamily("govbus_subscription_lag_events", "Events waiting for the subscription's connector "
                               "group, running or not", labels=labels)
    seconds = GaugeMetricFamily("govbus_subscription_lag_seconds", "Age of the oldest event waiting for the "
                                "subscription (0 when caught up)", labels=labels)
    idle = GaugeMetricFamily("govbus_subscription_idle_seconds", "Seconds since the subscription's group last "
                             "moved while events waited (0 when caught up)", labels=labels)
    silent = GaugeMetricFamily("govbus_subscription_silent", "1 when the subscription has been idle longer than "
                               "GOVBUS_EXPORTER_SUBSCRIBER_SILENT_AFTER_SECONDS", labels=labels)
    for lag in lags:
        events.add_metric([lag.name], lag.lag.events)
        seconds.add_metric([lag.name], lag.seconds)
        idle.add_metric([lag.name], lag.idle_seconds)
        silent.add_metric([lag.name], 1.0 if lag.silent else 0.0)
    return [events, seconds, idle, silent]


def grant_families(expiries: Iterable[tuple[tuple[str, str, str, str], float]]) -> list[Metric]:
    family = GaugeMetricFamily("govbus_grant_expiry_timestamp_seconds", "When an active grant expires (unix "
                               "seconds)", labels=list(GRANT_LABELS))
    for labels, expires in expiries:
        family.add_metric(list(labels), expires)
    return [family]


class FamiliesCollector(Collector):
    """Serves the families last made by each part of a refresh (``groups``, ``topics``, ``subscriptions``,
    ``grants``); a part replaced whole, under a lock, so a scrape never sees half a refresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[str, list[Metric]] = {}

    def replace(self, part: str, families: list[Metric]) -> None:
        with self._lock:
            self._parts[part] = families

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            parts = [families for _part, families in sorted(self._parts.items())]
        for families in parts:
            yield from families

    def describe(self) -> Iterator[Metric]:
        """Nothing: the families change with every refresh (registration does not call :meth:`collect`)."""
        return iter(())
