"""The run's long-running processes, each as its own principal: two workers of each stream processor, the ingest
gateways, the outbox connector, the webhook receiver and the connector delivering to it, the mirror, the Kafka
deliveries, the public feed and the ACL reconciler of the run's prefix."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bench.scenario import parties
from bench.scenario.fleet import Fleet, ProcessSpec, module_argv
from bench.scenario.setup import NORMALISER, PROFILES, ScenarioContext, normalised_items
from connectors.ingest_gateway.keys import add_key
from govbus.identities import principal_key
from govbus.platform.processes import free_port
from govbus.sharing.access import PUBLIC_FEED

GATEWAY_DEPARTMENTS = {"taxation": "tax-collection", "human-resources-social-security": "social-insurance-system"}
OUTBOX_DEPARTMENT = "natural-resources"


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _answering(url: str) -> Callable[[], bool]:
    return lambda: answers(url)


def _quiet(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GOVBUS_LOG_LEVEL": "INFO"}


def processors(fleet: Fleet, context: ScenarioContext, workers: int) -> None:
    common = {"GOVBUS_NORMALISER_APP_ID": context.normaliser_app_id,
              "GOVBUS_NORMALISER_ITEMS": ",".join(normalised_items()),
              "GOVBUS_PROFILES_APP_ID": context.profiles_app_id}
    for number in range(1, workers + 1):
        for name, module, key, port_variable in (
                ("normaliser", "streams.normaliser", NORMALISER, "GOVBUS_NORMALISER_METRICS_PORT"),
                ("profiles", "streams.profiles", PROFILES, "GOVBUS_PROFILES_METRICS_PORT")):
            env = {**context.env(key), **common, port_variable: str(free_port()),
                   "GOVBUS_STREAMS_STATE_DIR": str(context.run_dir / "state" / f"{name}-{number}")}
            fleet.add(ProcessSpec(f"{name}-{number}", module_argv(module), _quiet(env),
                                  context.logs / f"{name}-{number}.log"), timeout=120)


def gateways(fleet: Fleet, context: ScenarioContext) -> dict[str, tuple[str, str]]:
    """One gateway per department that publishes through it (each runs as that department); department ->
    (URL, API key)."""
    found = {}
    keys_file = context.run_dir / "gateway-keys.json"
    for department in GATEWAY_DEPARTMENTS:
        key = add_key(keys_file, department, f"{department} scenario client")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**context.env(principal_key("department", department)), "GOVBUS_GATEWAY_PORT": str(port),
               "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file)}
        fleet.add(ProcessSpec(f"gateway-{department}", module_argv("connectors.ingest_gateway"), _quiet(env),
                              context.logs / f"gateway-{department}.log", ready=_answering(f"{url}/healthz")))
        found[department] = (url, key)
    return found


def outbox_name(context: ScenarioContext) -> str:
    """The outbox connector's name: its stored position is kept under it."""
    return f"scn-{context.run}"


def outbox(fleet: Fleet, context: ScenarioContext, dsn: str) -> None:
    env = {**context.env(principal_key("department", OUTBOX_DEPARTMENT)), "GOVBUS_OUTBOX_DSN": dsn,
           "GOVBUS_OUTBOX_DEPARTMENT": OUTBOX_DEPARTMENT, "GOVBUS_OUTBOX_SOURCE_SYSTEM": "real-estate-registry",
           "GOVBUS_OUTBOX_NAME": outbox_name(context)}
    fleet.add(ProcessSpec("outbox", module_argv("connectors.outbox"), _quiet(env), context.logs / "outbox.log"))


def receiver(fleet: Fleet, context: ScenarioContext, secret: str, out: str) -> tuple[str, str]:
    """The centre's webhook receiver; (its webhook URL, its control URL)."""
    port, control = free_port(), free_port()
    control_url = f"http://127.0.0.1:{control}"
    argv = module_argv("bench.scenario.receiver", "--port", str(port), "--control-port", str(control), "--out", out)
    fleet.add(ProcessSpec("receiver", argv, {parties.WEBHOOK_SECRET_ENV: secret}, context.logs / "receiver.log",
                          ready=lambda: answers(f"{control_url}/stats")))
    return f"http://127.0.0.1:{port}/govbus", control_url


def deliveries(fleet: Fleet, context: ScenarioContext, secret: str, mirror_dsn: str) -> str:
    """The subscribers' connectors; the public feed's URL."""
    def connector(party: parties.Party) -> dict[str, str]:
        return context.env(principal_key("connector", party.subscription))
    fleet.add(ProcessSpec("webhook", module_argv("connectors.webhook"), _quiet(
        {**connector(parties.CENTRE), "GOVBUS_WEBHOOK_SUBSCRIPTION": parties.CENTRE.subscription,
         parties.WEBHOOK_SECRET_ENV: secret}), context.logs / "webhook.log"))
    fleet.add(ProcessSpec("mirror", module_argv("connectors.pg_mirror"), _quiet(
        {**connector(parties.ARCHIVE), "GOVBUS_MIRROR_SUBSCRIPTION": parties.ARCHIVE.subscription,
         parties.MIRROR_DSN_ENV: mirror_dsn}), context.logs / "mirror.log"))
    for party in (parties.BANK, parties.HOTEL):
        fleet.add(ProcessSpec(f"kafka-{party.subscriber}", module_argv("connectors.kafka_delivery"), _quiet(
            {**connector(party), "GOVBUS_KAFKA_DELIVERY_SUBSCRIPTION": party.subscription}),
            context.logs / f"kafka-{party.subscriber}.log"))
    port = free_port()
    feed_url = f"http://127.0.0.1:{port}"
    fleet.add(ProcessSpec("feed", module_argv("connectors.public_feed"), _quiet(
        {**context.env(principal_key("connector", PUBLIC_FEED)), "GOVBUS_FEED_PORT": str(port)}),
        context.logs / "feed.log", ready=lambda: answers(f"{feed_url}/feed?per_page=1")))
    return feed_url


def reconciler(fleet: Fleet, context: ScenarioContext) -> None:
    """``govbus run acl`` for the run's prefix, as the administrator: a revoked grant loses its ACL within a pass."""
    if context.secured:
        fleet.add(ProcessSpec("acl-reconciler", module_argv("govbus.cli", "run", "acl"), _quiet(context.env()),
                              context.logs / "acl.log"))
