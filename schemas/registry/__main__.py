"""``python -m schemas.registry``: run one registry instance; flags override GOVBUS_* settings."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from govbus.exceptions import GovbusError
from schemas.registry.server import serve
from schemas.registry.settings import RegistrySettings

log = logging.getLogger("schemas.registry")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m schemas.registry",
        description="govbus schema registry (Confluent Schema Registry REST API, stored in Kafka).",
    )
    parser.add_argument("--host", dest="registry_host", help="interface to bind (GOVBUS_REGISTRY_HOST)")
    parser.add_argument("--port", dest="registry_port", type=int, help="HTTP port (GOVBUS_REGISTRY_PORT)")
    parser.add_argument("--bootstrap", dest="bootstrap", help="Kafka bootstrap servers (GOVBUS_KAFKA__BOOTSTRAP)")
    parser.add_argument("--topic", dest="registry_topic", help="registry log topic (GOVBUS_REGISTRY_TOPIC)")
    parser.add_argument(
        "--advertised-url", dest="registry_advertised_url",
        help="URL other instances forward writes to (GOVBUS_REGISTRY_ADVERTISED_URL)",
    )
    parser.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING, ERROR (GOVBUS_LOG_LEVEL)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {key: value for key, value in vars(args).items() if value is not None}
    try:
        bootstrap = overrides.pop("bootstrap", None)
        settings = RegistrySettings(**overrides)
        if bootstrap is not None:
            settings = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"bootstrap": bootstrap})})
    except ValidationError as exc:
        print(f"invalid registry settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        serve(settings)
    except GovbusError as exc:
        log.error("registry could not run: %s", exc, extra={"error": type(exc).__name__})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
