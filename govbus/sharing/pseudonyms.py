"""Pseudonyms of record keys a subscriber may not see in clear, from a key only the platform holds.

A record key made of a masked (or unrequested) field, such as a resident identity number, is replaced
by a pseudonym: stable, so the subscriber can still update and delete by it, and useless for finding
the key again. It must not be computable by the subscriber: a masked identity number
``110101********1239`` leaves only the birth date (about 31,000 candidates) and the sequence unknown, so
anyone able to compute pseudonyms recovers the number by trying them all in a fraction of a second.
That is why the key is the platform's own (``GOVBUS_PSEUDONYM_KEY``), never a webhook's signing
secret, which the receiver holds (and which may be rotated without changing any pseudonym).

The encoding, for every delivery connector (webhook, Kafka delivery):

- the subscriber's key = HMAC-SHA256(key = UTF-8 of ``GOVBUS_PSEUDONYM_KEY``,
  message = UTF-8 of ``"govbus-pseudonym|" + subscriber``), 32 bytes;
- the pseudonym = ``"hmac-sha256:"`` + lower-case hex of HMAC-SHA256(key = the subscriber's key,
  message = UTF-8 of ``item + "|" + record_key``).

One key per subscriber means two subscribers get different pseudonyms for one record, so they cannot
link their deliveries; the subscriptions of one subscriber share them. A new platform key changes every
pseudonym: keep it.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import Field, SecretStr

from govbus.exceptions import ConfigurationError
from govbus.settings import GovbusSettings

PSEUDONYM_KEY_VARIABLE = "GOVBUS_PSEUDONYM_KEY"
PSEUDONYM_PREFIX = "hmac-sha256:"
SUBSCRIBER_CONTEXT = "govbus-pseudonym|"
MIN_KEY_LENGTH = 32
HOW_TO_MAKE_ONE = ("make one with `openssl rand -hex 32` (or `python -c 'import secrets; "
                   "print(secrets.token_hex(32))'`), give it to the platform's delivery connectors only, never "
                   "to a subscriber, and keep it: a new key changes every pseudonym")


class SubscriberPseudonyms:
    """The pseudonyms of one subscriber (see the module docstring); its key is never printed."""

    def __init__(self, platform_key: str, subscriber: str) -> None:
        self.subscriber = subscriber
        self._key = hmac.new(platform_key.encode(), (SUBSCRIBER_CONTEXT + subscriber).encode(),
                             hashlib.sha256).digest()

    def of(self, item: str, record_key: str) -> str:
        """The pseudonym of ``record_key`` of ``item`` for this subscriber."""
        return PSEUDONYM_PREFIX + hmac.new(self._key, f"{item}|{record_key}".encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"SubscriberPseudonyms(subscriber={self.subscriber!r})"


class PseudonymKey:
    """The platform's pseudonym key; hands out each subscriber's pseudonyms (derived once per subscriber)."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_KEY_LENGTH:  # checked here, not by the settings model, whose errors echo the value
            raise ConfigurationError(f"{PSEUDONYM_KEY_VARIABLE} is shorter than {MIN_KEY_LENGTH} characters, short "
                                     f"enough to be guessed: {HOW_TO_MAKE_ONE}")
        self._secret = secret
        self._subscribers: dict[str, SubscriberPseudonyms] = {}

    def for_subscriber(self, subscriber: str) -> SubscriberPseudonyms:
        found = self._subscribers.get(subscriber)
        if found is None:
            found = self._subscribers[subscriber] = SubscriberPseudonyms(self._secret, subscriber)
        return found

    def __repr__(self) -> str:
        return "PseudonymKey(***)"


def missing_key_message() -> str:
    """What to do when a connector needs pseudonyms and has no key (for its refusal to start)."""
    return (f"set {PSEUDONYM_KEY_VARIABLE}, the platform's pseudonym key (a secret only the platform holds; "
            f"`govbus dev up` makes one in <home>/dev/pseudonym.key): {HOW_TO_MAKE_ONE}")


class PseudonymSettings(GovbusSettings):
    """The one setting of the platform's pseudonym key, shared by every delivery connector's settings model."""

    pseudonym_key: SecretStr | None = Field(
        default=None, description="the platform's key of the pseudonyms that replace record keys a subscriber may "
                                  "not see in clear (a key field masked or not asked for); needed only then; at "
                                  f"least {MIN_KEY_LENGTH} characters, never given to a subscriber; keep it: a new "
                                  "key changes every pseudonym (`govbus dev up` makes one in "
                                  "<home>/dev/pseudonym.key)")

    def platform_pseudonym_key(self) -> PseudonymKey | None:
        """The key, or None when none is set or it is empty (then no pseudonym can be made); a
        :class:`ConfigurationError` saying how to make one when it is too short."""
        secret = self.pseudonym_key.get_secret_value() if self.pseudonym_key is not None else ""
        return PseudonymKey(secret) if secret else None
