"""Every component's /metrics follows govbus's metric conventions (testsupport/metric_conventions.py) and passes
``promtool check metrics`` without a word, scraped from the running components after traffic went through them.

Every component ``govbus run`` starts (and the reference HTTP push, whose /metrics Prometheus scrapes too) runs as
its own process on the session broker and registry under a topic prefix of its own, all started at once:
the gateway, the outbox connector, the normaliser, the profile builder, the webhook connector, the PostgreSQL
mirror, Kafka delivery, the public feed, the ACL reconciler, the audit indexer, the operations exporter and the
operator's console; the session's registry is scraped where it runs. A record posted to the gateway, a row in the
outbox and a few canonical events of an open item make their labelled series appear (a webhook receiver that never
answers: failed attempts, parked events, audit records for the indexer); each page is read once it shows them.
The components are the ``running_fleet`` of conftest.py (fleet_support.py), shared with test_prometheus_live.py;
every process is stopped by PID after the last of them.
"""

from __future__ import annotations

from fleet_support import RunningFleet

from govbus.commands.run import RUNNABLE
from govbus.platform.debian import ensure_tool
from testsupport.metric_conventions import convention_problems, promtool_problems


def test_every_component_serves_metrics_that_follow_the_conventions(running_fleet: RunningFleet) -> None:
    promtool = ensure_tool("promtool", package="prometheus")
    launches = running_fleet.fleet.launches
    assert {launch.name for launch in launches} >= set(RUNNABLE), "a component is not checked"
    found = {launch.name: (convention_problems(launch.page), promtool_problems(promtool, launch.page))
             for launch in launches}
    assert {name: problems for name, problems in found.items() if problems != ([], "")} == {}
