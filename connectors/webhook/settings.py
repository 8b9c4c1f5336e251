"""Settings of the webhook connector: one model, read from ``GOVBUS_*`` variables where it is built."""

from __future__ import annotations

from pydantic import Field, model_validator

from connectors.webhook.plans import STALE_AFTER_SECONDS
from connectors.webhook.signing import SignatureScheme
from govbus.audit_keys import AuditKeySettings
from govbus.settings import ServiceSettings
from govbus.sharing.model import NAME_PATTERN
from govbus.sharing.pseudonyms import PseudonymSettings
from govbus.topic_names import DEFAULT_PREFIX, PREFIX_PATTERN


class WebhookSettings(AuditKeySettings, PseudonymSettings, ServiceSettings):
    """Env ``GOVBUS_WEBHOOK_*`` (plus ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``,
    ``GOVBUS_TOPIC_PREFIX``, ``GOVBUS_PSEUDONYM_KEY``).

    Only ``GOVBUS_WEBHOOK_SUBSCRIPTION`` is required. The receiver's URL and the name of the
    variable holding the signing secret come from the subscription itself (``delivery.url``,
    ``delivery.secret_env``); the secret is never printed. The pseudonym key is the platform's own
    (:mod:`govbus.sharing.pseudonyms`), needed only when the subscriber may not see some record keys
    in clear: the receiver holds the signing secret, so pseudonyms are never made with it.
    """

    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first part of every topic name (env GOVBUS_TOPIC_PREFIX)")
    webhook_subscription: str = Field(pattern=NAME_PATTERN, description="the subscription this process delivers")
    webhook_batch_size: int = Field(default=200, ge=1, le=10_000, description="most events in one POST")
    webhook_batch_max_ms: int = Field(default=5, ge=0, le=60_000,
                                      description="longest wait, from a batch's first event, for more events")
    webhook_request_timeout_seconds: float = Field(default=5.0, gt=0, le=300,
                                                   description="one POST's timeout (connect, write, read); a "
                                                               "timeout is a failed attempt")
    webhook_max_attempts: int = Field(default=12, ge=1, le=100,
                                      description="failed attempts (not 429) after which a batch is parked: with "
                                                  "the default backoff, after about 2.5 minutes of failures, so a "
                                                  "receiver down for a minute or two parks nothing")
    webhook_max_throttled_attempts: int = Field(default=30, ge=1, le=1000,
                                                description="429 answers after which a batch is parked")
    webhook_retry_initial_seconds: float = Field(default=0.25, gt=0, description="first backoff")
    webhook_retry_max_seconds: float = Field(default=30.0, gt=0, description="longest backoff")
    webhook_retry_jitter_seconds: float = Field(default=0.5, ge=0, description="random extra wait, up to this")
    webhook_retry_after_max_seconds: float = Field(default=60.0, gt=0,
                                                   description="a longer Retry-After is waited only this long")
    webhook_refresh_seconds: float = Field(
        default=5.0, gt=0, le=3600,
        description="how often subscriptions and grants are reloaded; a revocation takes effect within two reloads "
                    "(delivery waits while they cannot be read)")
    webhook_stale_after_seconds: float = Field(
        default=STALE_AFTER_SECONDS, gt=0, le=86_400,
        description="once subscriptions and grants could not be reloaded for this long, delivery stops (it fails "
                    "closed rather than miss a revocation)")
    webhook_metrics_port: int = Field(default=0, ge=0, le=65535,
                                      description="Prometheus /metrics port (on GOVBUS_METRICS_HOST); 0 serves none")
    webhook_session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000,
                                            description="consumer group session timeout")
    webhook_signature_scheme: SignatureScheme = Field(
        default=SignatureScheme.STANDARD,
        description="standard: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) "
                    "signed with whsec_ secrets; both: also the old X-Govbus-Timestamp and X-Govbus-Signature, "
                    "and plain secrets are taken, while receivers migrate")

    @model_validator(mode="after")
    def _backoff_order(self) -> WebhookSettings:
        if self.webhook_retry_initial_seconds > self.webhook_retry_max_seconds:
            raise ValueError("webhook_retry_initial_seconds must not exceed webhook_retry_max_seconds")
        return self

    def worst_batch_seconds(self) -> float:
        """An upper bound of one batch's delivery time, every retry included (for max.poll.interval.ms)."""
        failing = self.webhook_max_attempts * (self.webhook_request_timeout_seconds + self.webhook_retry_max_seconds
                                               + self.webhook_retry_jitter_seconds)
        throttled = self.webhook_max_throttled_attempts * (self.webhook_request_timeout_seconds
                                                           + self.webhook_retry_after_max_seconds)
        return failing + throttled
