"""Subscriptions and grants as subscribing systems and providers declare them (YAML files).

A subscription (by the subscribing system)::

    name: hangzhou-one-stop
    subscriber: hangzhou-one-stop-service-centre
    items:
      - item: enterprise_registration
        fields: [uscc, name, legal_representative, status, division_code]
        filter: {division_prefix: "3301", equals: {status: [ESTABLISHED, CHANGED]}}
      - item: tax_payment_certificate
        fields: [certificate_number, taxpayer_name, tax_type, amount_cents, paid_at]
    delivery: {kind: webhook, url: "https://one-stop.example/govbus", secret_env: HZ_WEBHOOK_SECRET}

The delivery is one of: ``webhook`` (``url`` and ``secret_env``: signed POSTs, :mod:`connectors.webhook`),
``postgres`` (``dsn_env``, ``table_prefix``: a mirror, :mod:`connectors.pg_mirror`), ``feed``, or
``kafka`` (nothing else: the platform writes the filtered, masked events to the topic
``<prefix>.delivery.<name>``, which only the subscriber's principal may read, :mod:`connectors.kafka_delivery`)::

    delivery: {kind: kafka}

A profile (several items joined around one identifier) is asked for as ``profile:<name>``, its
fields as the key field, a count field or ``side.field``; every side asked for needs a grant for
its item (:mod:`govbus.sharing.profile_authorisation`)::

    items:
      - item: profile:person
        fields: [resident_id, identity.name, degrees.major, degrees.holder_name]
        filter: {division_prefix: "3301"}        # read on the anchor (identity) record

A grant (approved by the providing department, for a conditional item)::

    grant_id: tax-2026-0042
    subscriber: hangzhou-one-stop-service-centre
    item: tax_payment_certificate
    approved_by: taxation
    purpose: housing purchase qualification checks
    fields: [certificate_number, taxpayer_name, tax_type, amount_cents, paid_at]
    unmasked: [taxpayer_name]
    expires_at: 2027-06-30T00:00:00+08:00
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from govbus.exceptions import ConfigurationError

NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
RESERVED_SUBSCRIPTIONS = frozenset({"public-feed"})  # connector:public-feed is the disclosure feed's principal


class Filter(BaseModel):
    """Which records of an item a subscription wants (all when empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    division_prefix: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$",
                                        description="keep records whose division code starts with this")
    equals: dict[str, list[Any]] = Field(default_factory=dict,
                                         description="field -> accepted values (any of them)")

    @field_validator("equals", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class ItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    fields: list[str] = Field(min_length=1, description="the fields the subscriber's purpose needs")
    filter: Filter = Field(default_factory=Filter)


class DeliveryKind(StrEnum):
    WEBHOOK = "webhook"
    POSTGRES = "postgres"
    FEED = "feed"
    KAFKA = "kafka"
    """to the subscription's own topic ``<prefix>.delivery.<name>``, read by the subscriber's Kafka client"""


KAFKA_NEEDS_NONE = ("url", "secret_env", "dsn_env", "table_prefix")
"""Settings of the other kinds that a kafka delivery refuses: where its events go follows from its name."""


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeliveryKind
    url: str | None = None
    secret_env: str | None = Field(default=None, description="environment variable holding the signing secret")
    dsn_env: str | None = Field(default=None, description="environment variable holding the mirror's DSN")
    table_prefix: str | None = None

    @model_validator(mode="after")
    def _kafka_takes_nothing_else(self) -> Delivery:
        """A kafka delivery with a url, a secret or a DSN is a mistake (copied from another kind, or the wrong
        kind): refused rather than silently ignored."""
        given = [name for name in KAFKA_NEEDS_NONE if getattr(self, name) is not None]
        if self.kind is DeliveryKind.KAFKA and given:
            raise ValueError(f"a kafka delivery takes no {', '.join(given)}: the platform writes the events to the "
                             "topic <prefix>.delivery.<subscription name>, which only the subscriber's principal "
                             f"may read; remove {', '.join(given)} (or choose the kind that uses them)")
        return self


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    subscriber: str = Field(pattern=NAME_PATTERN)
    items: list[ItemRequest] = Field(min_length=1)
    delivery: Delivery

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SUBSCRIPTIONS:
            raise ValueError(f"{value!r} names a platform component's principal (connector:{value}): choose another "
                             "subscription name")
        return value


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grant_id: str = Field(min_length=1)
    subscriber: str = Field(pattern=NAME_PATTERN)
    item: str
    approved_by: str = Field(pattern=NAME_PATTERN, description="the providing department's slug")
    purpose: str = Field(min_length=4)
    fields: list[str] = Field(min_length=1)
    unmasked: list[str] = Field(default_factory=list, description="personal field paths delivered in clear "
                                "(a nested one as the catalogue writes it: encumbrances[].holder)")
    expires_at: dt.datetime
    revoked: bool = False

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("expires_at needs a time zone, e.g. 2027-06-30T00:00:00+08:00")
        return value

    def active(self, now: dt.datetime) -> bool:
        return not self.revoked and now < self.expires_at


def _load(path: Path, model: type[BaseModel]) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path} is not valid YAML: {error}") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in error.errors())
        raise ConfigurationError(f"{path} is not a valid {model.__name__.lower()}: {problems}") from error


def load_subscription(path: Path) -> Subscription:
    subscription: Subscription = _load(path, Subscription)
    return subscription


def load_grant(path: Path) -> Grant:
    grant: Grant = _load(path, Grant)
    return grant
