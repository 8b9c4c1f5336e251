"""Settings of the Kafka delivery connector: one model, read from ``GOVBUS_*`` variables where it is built."""

from __future__ import annotations

from pydantic import Field

from connectors.webhook.plans import STALE_AFTER_SECONDS
from govbus.audit_keys import AuditKeySettings
from govbus.settings import ServiceSettings
from govbus.sharing.model import NAME_PATTERN
from govbus.sharing.pseudonyms import PseudonymSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN


class KafkaDeliverySettings(AuditKeySettings, PseudonymSettings, ServiceSettings):
    """Env ``GOVBUS_KAFKA_DELIVERY_*`` (plus ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``,
    ``GOVBUS_TOPIC_PREFIX``, ``GOVBUS_PSEUDONYM_KEY``).

    Only ``GOVBUS_KAFKA_DELIVERY_SUBSCRIPTION`` is required. The pseudonym key is the platform's own
    secret, shared by every delivery connector (:mod:`govbus.sharing.pseudonyms`): it is needed only when
    a subscriber may not see some record keys in clear, and it is never printed.
    """

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    kafka_delivery_subscription: str = Field(pattern=NAME_PATTERN,
                                             description="the subscription this process delivers (its delivery "
                                                         "kind is kafka)")
    kafka_delivery_batch_size: int = Field(default=500, ge=1, le=10_000,
                                           description="most events read, decided and written as one batch")
    kafka_delivery_batch_max_ms: int = Field(default=5, ge=0, le=60_000,
                                             description="longest wait, from a batch's first event, for more events")
    kafka_delivery_refresh_seconds: float = Field(
        default=5.0, gt=0, le=3600,
        description="how often subscriptions and grants are reloaded; a revocation takes effect within two reloads "
                    "(delivery waits while they cannot be read)")
    kafka_delivery_stale_after_seconds: float = Field(
        default=STALE_AFTER_SECONDS, gt=0, le=86_400,
        description="once subscriptions and grants could not be reloaded for this long, delivery stops (it fails "
                    "closed rather than miss a revocation)")
    kafka_delivery_retention_hours: int = Field(default=168, ge=1,
                                                description="how long the delivery topic keeps events (set when "
                                                            "the connector creates it)")
    kafka_delivery_metrics_port: int = Field(default=0, ge=0, le=65535,
                                             description="Prometheus /metrics port (on GOVBUS_METRICS_HOST); "
                                                         "0 serves none")
    kafka_delivery_session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000,
                                                   description="consumer group session timeout")
