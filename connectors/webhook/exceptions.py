"""Errors of the webhook connector.

    GovbusError
    ├── DeliveryError
    │   └── AttemptFailed           one POST did not get a 2xx (retried, then the batch is parked)
    ├── ConfigurationError
    │   ├── SubscriptionGone        the subscription was removed while its connector ran (it stops)
    │   └── SigningSecretError      the variable delivery.secret_env names holds no usable signing secret
    └── PlatformError
        ├── SharingStoreUnreadable  one reload of the subscriptions and grants could not read them (retried)
        └── SharingStoreUnavailable the subscriptions and grants could not be read for too long (it stops)
"""

from __future__ import annotations

from govbus.exceptions import ConfigurationError, DeliveryError, PlatformError


class AttemptFailed(DeliveryError):
    """One POST of a batch failed: ``reason`` is the status code or the transport error's name,
    ``retry_after`` the receiver's ``Retry-After`` in seconds (if it sent one)."""

    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def throttled(self) -> bool:
        return self.reason == "429"


class SubscriptionGone(ConfigurationError):
    """The subscription is no longer in the sharing store."""


class SigningSecretError(ConfigurationError):
    """The variable a subscription's ``delivery.secret_env`` names is unset, or holds something other than the
    secrets the signature scheme in force takes; the message says how to make one and never shows the value."""


class SharingStoreUnavailable(PlatformError):
    """The sharing store could not be read for longer than the connector may go on with what it read last: a
    revocation might be missed, so delivery stops (fails closed) instead."""


class SharingStoreUnreadable(PlatformError):
    """One reload could not read the subscription's control topic (its principal no longer sees it): the last
    decisions stay in force until :class:`SharingStoreUnavailable`."""
