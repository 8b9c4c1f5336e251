"""What test_metric_conventions.py starts: every component that serves /metrics, each as ``govbus run COMPONENT``
in a process of its own (stopped by PID), on the session broker and registry under a topic prefix of the test's
own; the few events that make their labelled series appear; and the wait until each shows them."""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from connectors.webhook.signing_secrets import new_secret
from govbus.demo.synthetic_items import records_for
from govbus.platform import processes
from govbus.platform.components import Component
from govbus.sharing.model import Subscription
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE
from govbus.topic_names import canonical_topic
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, Step

log = logging.getLogger(__name__)

GOVBUS = [sys.executable, "-m", "govbus.cli"]
OPEN_ITEM = "credit_record"
"""open to the public and unconditional: the feed, the mirror and both delivery subscriptions read it"""
DEPARTMENT_ITEM = "enterprise_registration"
"""market regulation's: the gateway and the outbox publish it, the normaliser and the profile builder read it"""
SECRET_ENV = "GOVBUS_TEST_METRICS_WEBHOOK_SECRET"
NO_RECEIVER = "http://127.0.0.1:9/govbus"
"""the discard port: nothing answers, so the webhook counts failed attempts and parks"""


@dataclass
class Launch:
    """One component to start: ``govbus`` with ``args`` (None: one running already), its variables, where its
    /metrics is, and the pattern a line of that page matches once the test's traffic went through it."""

    name: str
    args: list[str] | None
    env: dict[str, str]
    metrics_url: str
    ready: str
    poke: Callable[[], None] | None = None
    """called once its /metrics first answers: the request that makes it count something"""
    component: Component | None = None
    poked: bool = False
    page: str = ""

    def start(self, directory: Path) -> None:
        if self.args is None:
            return
        log = directory / f"{self.name}.log"
        pid = processes.start_process([*GOVBUS, *self.args], log, env=self.env)
        self.component = Component(self.name, pid, log)

    def scrape(self) -> bool:
        """Read its /metrics (poking it the first time); True once a line matches ``ready``."""
        try:
            self.page = httpx.get(self.metrics_url, timeout=5).text
        except httpx.HTTPError:
            return False
        if self.poke is not None and not self.poked:
            self.poked = True
            self.poke()
        return re.search(self.ready, self.page, re.MULTILINE) is not None


@dataclass
class Fleet:
    """The launched components; :meth:`wait_ready` until each one's page shows its traffic."""

    directory: Path
    launches: list[Launch] = field(default_factory=list)

    def start(self) -> None:
        for launch in self.launches:
            launch.start(self.directory)

    def wait_ready(self, timeout: float) -> None:
        waiting = {launch.name: launch for launch in self.launches}
        started = time.monotonic()
        deadline = started + timeout
        while waiting:
            for name, launch in list(waiting.items()):
                if launch.scrape():
                    del waiting[name]
                    log.info("%s shows its traffic after %.1f s", name, time.monotonic() - started)
                elif launch.component is not None and not launch.component.alive():
                    raise AssertionError(f"{name} exited:\n{tail(launch.component.log_path)}")
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"after {timeout:.0f} s these components still lacked their traffic's series: "
                                     + "".join(f"\n--- {n} (want /{w.ready}/)\n{w.page[-1500:]}\n{logs(w)}"
                                               for n, w in waiting.items()))
            time.sleep(0.3)

    def stop(self) -> None:
        started = [launch.component for launch in self.launches if launch.component is not None]
        with ThreadPoolExecutor(max_workers=max(len(started), 1)) as pool:
            list(pool.map(lambda component: component.stop(timeout=15), started))
        running = [c.name for c in started if c.alive()]
        assert not running, f"still running after SIGTERM and SIGKILL: {running}"


def tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def logs(launch: Launch) -> str:
    return tail(launch.component.log_path) if launch.component is not None else "(not started)"


def platform_env(bootstrap: str, registry_url: str, prefix: str) -> dict[str, str]:
    """The variables every component gets (the session's GOVBUS_KAFKA__* and GOVBUS_REGISTRY__* credentials
    come from the environment the processes inherit)."""
    return {"GOVBUS_KAFKA__BOOTSTRAP": bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_LOG_LEVEL": "INFO", "GOVBUS_METRICS_HOST": "127.0.0.1",
            SECRET_ENV: new_secret(), PSEUDONYM_KEY_VARIABLE: secrets.token_hex(32)}


def subscriptions() -> list[Subscription]:
    """A webhook subscription to a receiver that never answers, and a Kafka delivery one, of the open item."""
    items = [{"item": OPEN_ITEM, "fields": ["decision_number", "decision_kind", "subject_name"]}]
    return [Subscription.model_validate({"name": name, "subscriber": "metrics-centre", "items": items,
                                         "delivery": delivery})
            for name, delivery in (("metrics-webhook", {"kind": "webhook", "url": NO_RECEIVER,
                                                        "secret_env": SECRET_ENV}),
                                   ("metrics-kafka", {"kind": "kafka"}))]


def canonical_events(bootstrap: str, registry_url: str, prefix: str, count: int = 3) -> None:
    """``count`` upserts of each item straight to its canonical topic, as the normaliser would write them."""
    catalogue = load_catalogue()
    for name in (OPEN_ITEM, DEPARTMENT_ITEM):
        item = catalogue.get(name)
        writer = CanonicalWriter(bootstrap, registry_url, item, canonical_topic(name, prefix))
        writer.write([Step("UPSERT", item.key_of(s.record), s.record) for s in records_for(item, count, seed=12)])


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"
