"""Settings of the exporter (``govbus run exporter``): one model, read from ``GOVBUS_*`` where it is built."""

from __future__ import annotations

from pydantic import Field

from govbus.connection import KafkaConnection
from govbus.operations.sources import DAY
from govbus.settings import DEFAULT_METRICS_HOST, GovbusSettings, MetricsHost
from govbus.topic_names import DEFAULT_PREFIX, TopicPrefix

DEFAULT_EXPORTER_PORT = 9110
"""beside the components' 9101-9109 of docker-compose.yml"""


class ExporterSettings(GovbusSettings):
    """Env ``GOVBUS_EXPORTER_*`` (plus ``GOVBUS_KAFKA__*`` and ``GOVBUS_TOPIC_PREFIX``).

    The broker only (no registry): it runs as the ``operator`` principal, which may describe every topic and
    group and read the control topics (:mod:`govbus.sharing.processor_access`); it reads no data record.
    """

    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="the broker, as the operator: GOVBUS_KAFKA__BOOTSTRAP, __USERNAME ...")
    metrics_host: MetricsHost = DEFAULT_METRICS_HOST
    topic_prefix: TopicPrefix = DEFAULT_PREFIX
    exporter_metrics_port: int = Field(default=DEFAULT_EXPORTER_PORT, ge=1, le=65535,
                                       description="Prometheus /metrics port (on GOVBUS_METRICS_HOST)")
    exporter_refresh_seconds: float = Field(default=15.0, ge=0.5, le=3600,
                                            description="seconds between two reads of groups, offsets, "
                                                        "subscriptions and grants")
    exporter_subscriber_silent_after_seconds: float = Field(
        default=3600.0, gt=0, description="a subscription whose group has not moved for this long while events "
                                          "waited is silent (govbus_subscription_silent 1)")
    exporter_group_prefixes: tuple[str, ...] = Field(
        default=(), description="more consumer-group id prefixes to watch beside the topic prefix (JSON list), "
                                "e.g. the stream processors' app ids when they do not start with it")
    sources_grace_seconds: float = Field(
        default=DAY, ge=0, description="silence allowed beyond an item's update cycle before its source counts as "
                                       "silent (the same setting as `govbus sources silent`'s)")
    exporter_request_timeout_seconds: float = Field(default=10.0, gt=0, le=120,
                                                    description="timeout of each request to the broker")

