"""``python -m connectors.kafka_delivery``: deliver one subscription (``GOVBUS_KAFKA_DELIVERY_SUBSCRIPTION``) to its
topic until SIGTERM."""

from __future__ import annotations

import sys

from connectors.kafka_delivery.connector import run_connector
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from govbus.service import run_entrypoint


def main() -> int:
    return run_entrypoint(KafkaDeliverySettings, run_connector, "kafka-delivery", "GOVBUS_KAFKA_DELIVERY_*")


if __name__ == "__main__":
    sys.exit(main())
