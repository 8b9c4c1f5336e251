"""The topic and subject naming convention of govbus, in one place.

Every data item of the catalogue has three topics and, per topic, one value subject:

==================  ==========================================  ================================
topic               name                                        written by
==================  ==========================================  ================================
department topic    ``<prefix>.dept.<department>.<item>``       the owning department only
canonical topic     ``<prefix>.canonical.<item>``               the validating stream processor
dead letters        ``<prefix>.dead-letter.<item>``             the validating stream processor
local dialect       ``<prefix>.local.<department>.<item>.<d>``  a department's local system
profile (compacted) ``<prefix>.profile.<name>``                 the profile builder (streams.profiles)
subscriptions       ``<prefix>.control.subscriptions.<s>``      subscriber ``<s>`` only
grants              ``<prefix>.control.grants.<department>``    that department only
audit               ``<prefix>.audit.deliveries``               every subscriber connector
parked deliveries   ``<prefix>.dead-letter.subscription.<s>``   a subscriber connector (after N tries)
kafka delivery      ``<prefix>.delivery.<subscriber>.<s>``      its connector (read by the subscriber)
sources (compacted) ``<prefix>.sources``                        the normaliser (read by operators)
==================  ==========================================  ================================

- Grants and subscriptions live in one topic per party, which only that party's principal may write
  (:mod:`govbus.sharing.store`): a grant counts only from its approving department's topic.
- ``<prefix>`` is ``govbus`` unless ``GOVBUS_TOPIC_PREFIX`` says otherwise (tests and demos
  use e.g. ``govbus.demo-3f2a`` so their topics and subjects never collide with real ones).
- ``<department>`` is the owning department's slug (``market-regulation``).
- ``<item>`` is the catalogue name with hyphens instead of underscores
  (``enterprise_registration`` -> ``enterprise-registration``): Kafka warns that topic names
  mixing ``.`` and ``_`` can collide in its metric names, so topic names use only ``.`` and ``-``.
- ``<d>`` (local dialect topics only) names a provincial or legacy system's own record format
  (``zhejiang-aic-v2``): its records use local field names, date formats and codes, and the
  normaliser (:mod:`streams.normaliser`) maps them to the item's canonical record. Its value
  subject carries the change-event envelope around the dialect's record schema.
- ``<name>`` (profile topics only) names a profile joined from several items around one
  identifier: ``enterprise`` (by unified social credit code), ``person`` (by resident identity
  number). The topic is compacted: the last value per key is the current profile, a null value
  (tombstone) says the profile is gone. Its value subject carries the profile's own schema
  (``schemas/catalogue/profiles/``).
- The value subject of a topic is ``<topic>-value`` (Confluent's ``TopicNameStrategy``), so a
  default ``AvroSerializer`` registers and finds it without configuration. Keys are plain
  UTF-8 strings (the record key joined with ``|``) and have no subject.

Example: ``govbus.dept.market-regulation.enterprise-registration`` with the subject
``govbus.dept.market-regulation.enterprise-registration-value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from govbus.exceptions import ConfigurationError
from govbus.settings import GovbusSettings

DEFAULT_PREFIX = "govbus"
PREFIX_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$"
_SEGMENT = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PREFIX = re.compile(PREFIX_PATTERN)


RESERVED_WORDS = frozenset({"dept", "local", "canonical", "dead-letter", "profile", "control", "audit", "delivery",
                            "subscription", "subscriber", "operator", "sources"})
"""The words after a prefix that name a kind of topic: a prefix made of them (``govbus.dept``) would put its
topics inside another prefix's (``govbus``) prefixed ACLs, so no prefix may contain one."""

def _checked_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ConfigurationError(
            f"topic prefix {prefix!r} is invalid: use dot-separated lower-case words of letters, digits and '-'")
    reserved = RESERVED_WORDS.intersection(prefix.split("."))
    if reserved:
        raise ConfigurationError(f"topic prefix {prefix!r} may not contain the word {sorted(reserved)[0]!r}: the "
                                 "broker's prefixed ACLs of a shorter prefix would reach its topics")
    return prefix


def _valid_prefix(prefix: str) -> str:
    try:
        return _checked_prefix(prefix)
    except ConfigurationError as error:
        raise ValueError(str(error)) from None


TopicPrefix = Annotated[str, AfterValidator(_valid_prefix), Field(pattern=PREFIX_PATTERN,
                                   description="first part of every topic name, e.g. govbus or govbus.test-1a2b")]


class TopicSettings(GovbusSettings):
    """Where topic names start (env ``GOVBUS_TOPIC_PREFIX``)."""

    topic_prefix: TopicPrefix = DEFAULT_PREFIX


def item_segment(item: str) -> str:
    """The topic segment of catalogue item ``item``: ``enterprise_registration`` -> ``enterprise-registration``."""
    segment = item.replace("_", "-")
    if not _SEGMENT.match(segment):
        raise ConfigurationError(f"{item!r} cannot be part of a topic name: use lower-case letters, digits and '_'")
    return segment



def department_topic(department: str, item: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic department ``department`` publishes changes of ``item`` to."""
    if not _SEGMENT.match(department):
        raise ConfigurationError(f"department slug {department!r} is invalid: use lower-case words joined by '-'")
    return f"{_checked_prefix(prefix)}.dept.{department}.{item_segment(item)}"


def canonical_topic(item: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic of validated, normalised changes of ``item`` that subscribers read."""
    return f"{_checked_prefix(prefix)}.canonical.{item_segment(item)}"


def dead_letter_topic(item: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic of rejected changes of ``item`` (original bytes and reason headers)."""
    return f"{_checked_prefix(prefix)}.dead-letter.{item_segment(item)}"


def local_topic(department: str, item: str, dialect: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic a department's local system publishes ``item`` to in its own ``dialect``."""
    if not _SEGMENT.match(dialect):
        raise ConfigurationError(f"dialect name {dialect!r} is invalid: use lower-case words joined by '-'")
    if not _SEGMENT.match(department):
        raise ConfigurationError(f"department slug {department!r} is invalid: use lower-case words joined by '-'")
    return f"{_checked_prefix(prefix)}.local.{department}.{item_segment(item)}.{dialect}"


def profile_topic(name: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The compacted topic of profile ``name`` (``enterprise`` -> ``govbus.profile.enterprise``)."""
    return f"{_checked_prefix(prefix)}.profile.{item_segment(name)}"


def _segment(kind: str, name: str) -> str:
    if not _SEGMENT.match(name):
        raise ConfigurationError(f"{kind} {name!r} is invalid: use lower-case words joined by '-'")
    return name


def subscriptions_topic(subscriber: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Compacted, one partition, written by ``subscriber`` alone: subscription name -> its declaration (JSON);
    a tombstone removes it."""
    return f"{subscriptions_prefix(prefix)}{_segment('subscriber', subscriber)}"


def subscriptions_prefix(prefix: str = DEFAULT_PREFIX) -> str:
    """Where every subscriber's subscriptions topic starts."""
    return f"{_checked_prefix(prefix)}.control.subscriptions."


def grants_topic(department: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Compacted, one partition, written by ``department`` alone: grant id -> a grant it approved (JSON); a
    revoked grant stays, marked revoked."""
    return f"{grants_prefix(prefix)}{_segment('department slug', department)}"


def grants_prefix(prefix: str = DEFAULT_PREFIX) -> str:
    """Where every department's grants topic starts."""
    return f"{_checked_prefix(prefix)}.control.grants."


def control_prefix(prefix: str = DEFAULT_PREFIX) -> str:
    """Where the grants and subscriptions topics start (what connectors and operators read)."""
    return f"{_checked_prefix(prefix)}.control."


def audit_topic(prefix: str = DEFAULT_PREFIX) -> str:
    """Append-only: one JSON record per delivery attempt outcome, keyed by subscriber."""
    return f"{_checked_prefix(prefix)}.audit.deliveries"


def parked_topic(subscription: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Events a subscriber's receiver did not take after every retry, parked for replay."""
    if not _SEGMENT.match(subscription):
        raise ConfigurationError(f"subscription name {subscription!r} is invalid: use lower-case words joined by '-'")
    return f"{_checked_prefix(prefix)}.dead-letter.subscription.{subscription}"


def delivery_topic(subscriber: str, subscription: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The filtered, masked events of ``subscriber``'s subscription with ``delivery.kind: kafka``: written by its
    connector (:mod:`connectors.kafka_delivery`), readable only by its subscriber's principal, so a subscriber with
    its own Kafka client never reads a canonical topic. The subscriber is part of the name, so a subscription
    name that passes to another subscriber never opens the earlier one's deliveries."""
    return f"{delivery_prefix(subscriber, prefix)}{_segment('subscription name', subscription)}"


def delivery_prefix(subscriber: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Where every delivery topic of ``subscriber`` starts (what its principal may read)."""
    return f"{_checked_prefix(prefix)}.delivery.{_segment('subscriber', subscriber)}."


def sources_topic(prefix: str = DEFAULT_PREFIX) -> str:
    """Compacted, one partition, written by the normaliser alone: per source (``<department>/<item>/<source
    system>``) the newest event the bus saw from it, and per normaliser (``watcher/<app id>``) the items it reads
    (JSON, :mod:`govbus.last_events`); operators read it to find silent sources. It holds no record value."""
    return f"{_checked_prefix(prefix)}.sources"


def value_subject(topic: str) -> str:
    """The registry subject of the values of ``topic`` (Confluent ``TopicNameStrategy``)."""
    return f"{topic}-value"


@dataclass(frozen=True)
class ItemTopics:
    """The three topics of one data item."""

    department: str
    canonical: str
    dead_letter: str

    @property
    def department_subject(self) -> str:
        return value_subject(self.department)

    @property
    def canonical_subject(self) -> str:
        return value_subject(self.canonical)

    def all(self) -> list[str]:
        return [self.department, self.canonical, self.dead_letter]


def item_topics(department: str, item: str, prefix: str = DEFAULT_PREFIX) -> ItemTopics:
    """All topics of ``item`` owned by ``department``."""
    return ItemTopics(department_topic(department, item, prefix), canonical_topic(item, prefix),
                      dead_letter_topic(item, prefix))
