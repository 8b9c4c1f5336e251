"""``govbus run COMPONENT``: every long-running component, started one way.

Each component is its settings model and its run function, the same pair its ``python -m``
entry point hands to :func:`govbus.service.run_entrypoint`: settings from ``GOVBUS_*`` variables
(a NAME argument sets the subscription of ``webhook``, ``mirror`` and ``kafka-delivery``), the broker (and registry)
checked first (:mod:`govbus.preflight`), then it runs in the foreground until SIGTERM or SIGINT.

Exit codes (documented in the README, "Running the components"): 0 after SIGTERM/SIGINT, 1 on an
error (the broker or registry unreachable, a refused start), 2 for invalid settings (and, for
the public feed, an item that is not open to the public).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from govbus.commands.settings_docs import COMPONENTS
from govbus.service import run_entrypoint


@dataclass(frozen=True)
class Runnable:
    """How to start one component: its run function (module, name); its settings model is the one
    ``govbus config`` describes (:data:`govbus.commands.settings_docs.COMPONENTS`)."""

    run: tuple[str, str]
    env_hint: str
    name_setting: str | None = None
    """the settings field a NAME argument sets (a subscription's name), if the component takes one"""
    configuration_exit: int = 1


RUNNABLE: dict[str, Runnable] = {
    "gateway": Runnable(("connectors.ingest_gateway.server", "serve"), "GOVBUS_GATEWAY_*"),
    "outbox": Runnable(("connectors.outbox.connector", "run_connector"), "GOVBUS_OUTBOX_*"),
    "normaliser": Runnable(("streams.normaliser", "run_worker"), "GOVBUS_NORMALISER_*, GOVBUS_STREAMS_*"),
    "profiles": Runnable(("streams.profiles.worker", "run_worker"), "GOVBUS_PROFILES_*, GOVBUS_STREAMS_*"),
    "webhook": Runnable(("connectors.webhook.connector", "run_connector"), "GOVBUS_WEBHOOK_*",
                        name_setting="webhook_subscription"),
    "mirror": Runnable(("connectors.pg_mirror.connector", "run_mirror"), "GOVBUS_MIRROR_*",
                       name_setting="mirror_subscription"),
    "kafka-delivery": Runnable(("connectors.kafka_delivery.connector", "run_connector"), "GOVBUS_KAFKA_DELIVERY_*",
                               name_setting="kafka_delivery_subscription"),
    "feed": Runnable(("connectors.public_feed.server", "serve"), "GOVBUS_FEED_*", configuration_exit=2),
    "registry": Runnable(("schemas.registry.server", "serve"), "GOVBUS_REGISTRY_*"),
    "acl": Runnable(("govbus.sharing.acl_sync", "run_reconciler"), "GOVBUS_ACL_*"),
    "audit-indexer": Runnable(("connectors.audit_index.indexer", "run_indexer"), "GOVBUS_AUDIT_INDEX_*"),
    "exporter": Runnable(("govbus.operations.exporter", "run_exporter"), "GOVBUS_EXPORTER_*"),
    "console": Runnable(("govbus.commands.status", "run_console"), "GOVBUS_CONSOLE_*, GOVBUS_STATUS_*"),
}


def _attribute(module: str, name: str) -> Any:

    return getattr(import_module(module), name)


def run_component(component: str, name: str | None = None) -> int:
    """Run ``component`` until SIGTERM; its exit code."""
    runnable = RUNNABLE[component]
    settings_type: Any = COMPONENTS[component].settings
    run: Callable[[Any], None] = _attribute(*runnable.run)

    def settings() -> Any:
        values = {runnable.name_setting: name} if runnable.name_setting and name else {}
        return settings_type(**values)

    return run_entrypoint(settings, run, component, runnable.env_hint,
                          configuration_exit=runnable.configuration_exit)
