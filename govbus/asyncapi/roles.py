"""Who sends and who receives on each kind of topic: the roles of the AsyncAPI document's operations.

A role is a kind of broker principal (:mod:`govbus.identities`); what it sends and receives here is what its
ACLs let it write and read (:mod:`govbus.sharing.principals`, :mod:`govbus.sharing.access`,
:mod:`govbus.sharing.processor_access`), so the document and the broker's authorizer say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TopicKind(StrEnum):
    """The kinds of topic of :mod:`govbus.topic_names`, one channel (or one per item) each."""

    DEPARTMENT = "department"
    LOCAL = "local"
    CANONICAL = "canonical"
    DEAD_LETTER = "dead-letter"
    PROFILE = "profile"
    DELIVERY = "delivery"
    PARKED = "parked"
    SUBSCRIPTIONS = "subscriptions"
    GRANTS = "grants"
    AUDIT = "audit"
    SOURCES = "sources"


@dataclass(frozen=True)
class Role:
    """One role: its tag name, the principal it authenticates as, and the kinds of topic it sends to and
    receives from."""

    name: str
    principal: str
    description: str
    sends: frozenset[TopicKind]
    receives: frozenset[TopicKind]


def _kinds(*kinds: TopicKind) -> frozenset[TopicKind]:
    return frozenset(kinds)


K = TopicKind
ROLES: tuple[Role, ...] = (
    Role("department", "`department:<slug>` (SASL user `department.<slug>`)",
         "A providing department's systems: publish its own items' changes (the Publisher SDK, the ingest gateway "
         "or the outbox connector do it for them), in the canonical schema or a local dialect, and approve grants "
         "of its items.",
         sends=_kinds(K.DEPARTMENT, K.LOCAL, K.GRANTS), receives=_kinds(K.GRANTS)),
    Role("normaliser", "`processor:normaliser` (SASL user `processor.normaliser`)",
         "The stream processor that validates and normalises every department and local dialect event into the "
         "item's canonical event, exactly once, and dead-letters what it cannot (`govbus run normaliser`).",
         sends=_kinds(K.CANONICAL, K.DEAD_LETTER, K.SOURCES), receives=_kinds(K.DEPARTMENT, K.LOCAL)),
    Role("profile-builder", "`processor:profiles` (SASL user `processor.profiles`)",
         "The stream processor that joins canonical events of several items into profiles around one identifier, "
         "exactly once (`govbus run profiles`).",
         sends=_kinds(K.PROFILE), receives=_kinds(K.CANONICAL)),
    Role("subscriber-connector", "`connector:<subscription>` (SASL user `connector.<subscription>`)",
         "The platform's delivery of one subscription (webhook, PostgreSQL mirror, public feed, Kafka delivery): "
         "reads the canonical and profile topics its grants allow, masks and filters, delivers, audits every "
         "outcome and parks what its receiver refuses.",
         sends=_kinds(K.DELIVERY, K.PARKED, K.AUDIT),
         receives=_kinds(K.CANONICAL, K.PROFILE, K.PARKED, K.SUBSCRIPTIONS, K.GRANTS)),
    Role("subscriber", "`subscriber:<slug>` (SASL user `subscriber.<slug>`)",
         "A subscribing system: declares its subscriptions and reads the delivery topics of its Kafka-delivered "
         "ones (never a canonical topic).",
         sends=_kinds(K.SUBSCRIPTIONS), receives=_kinds(K.DELIVERY, K.SUBSCRIPTIONS, K.GRANTS)),
    Role("operator", "`operator` (SASL user `operator`)",
         "People who run the bus: the delivery audit, who may receive what, and when each source was last heard "
         "from; no record of a data topic.",
         sends=_kinds(), receives=_kinds(K.AUDIT, K.SUBSCRIPTIONS, K.GRANTS, K.SOURCES)),
    Role("administrator", "`admin` (SASL super user)",
         "The platform itself: creates topics and ACLs; the only reader of the dead-letter topics, whose records "
         "are departments' rejected data.",
         sends=_kinds(), receives=_kinds(K.DEAD_LETTER)),
)
"""Every role, in the order the page lists them."""
