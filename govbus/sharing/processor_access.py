"""What the stream processors and the operators may do on the broker: only the ACLs each one needs.

``P`` is the topic prefix (``GOVBUS_TOPIC_PREFIX``), ``A`` a processor's app id (its consumer group:
``GOVBUS_NORMALISER_APP_ID``, ``GOVBUS_PROFILES_APP_ID``). Topic patterns are prefixed, so an item, a
department or a dialect the catalogue adds later is covered without a new ACL. READ and WRITE imply
DESCRIBE (metadata, offsets, coordinators), so DESCRIBE is granted on its own only to the operator.

**Normaliser** (user ``processor.normaliser``)

=====================================  =====================  ===============================================
resource and pattern                   operations             why
=====================================  =====================  ===============================================
topic ``P.dept.`` (prefixed)           READ,                  its inputs, the department topics; Quix Streams
                                       DESCRIBE_CONFIGS       reads each input topic's configuration at start
topic ``P.local.`` (prefixed)          READ,                  its inputs, the local dialect topics
                                       DESCRIBE_CONFIGS
topic ``P.canonical.`` (prefixed)      WRITE                  its output: canonical events
topic ``P.dead-letter.`` (prefixed)    WRITE                  its output: rejected records
topic ``P.dead-letter.subscription.``  WRITE **denied**       parked deliveries are the connectors' (the
(prefixed)                                                    dead-letter prefix above would cover them)
topic ``changelog__A--`` (prefixed)    CREATE, READ, WRITE,   the event-id store's changelogs: created when
                                       DESCRIBE_CONFIGS       missing, written in each transaction, read back
                                                              when a worker recovers its state
topic ``P.sources`` (literal)          CREATE, READ, WRITE    its source heartbeats (last event per source):
                                                              created when missing, written by a plain producer,
                                                              read at start to continue from what it holds
group ``A`` (literal)                  READ                   join the group; commit the input offsets in the
                                                              transaction (TxnOffsetCommit); fetch them
transactional id ``A-`` (prefixed)     WRITE                  exactly-once: InitProducerId, AddPartitionsToTxn,
                                                              AddOffsetsToTxn, EndTxn of each worker's id
                                                              ``A-<host>-<state dir digest>``
=====================================  =====================  ===============================================

**Profile builder** (user ``processor.profiles``)

=====================================  =====================  ===============================================
resource and pattern                   operations             why
=====================================  =====================  ===============================================
topic ``P.canonical.`` (prefixed)      READ,                  its inputs, the canonical events
                                       DESCRIBE_CONFIGS
topic ``A-`` (prefixed)                CREATE, READ, WRITE,   its repartition topics ``A-<profile>-repartition``
                                       DESCRIBE_CONFIGS       (written by the re-key step, read by the build
                                                              step), created when missing
topic ``changelog__A--`` (prefixed)    CREATE, READ, WRITE,   the re-key and build stores' changelogs
                                       DESCRIBE_CONFIGS
topic ``P.profile.`` (prefixed)        WRITE                  its output: the profiles
group ``A`` (literal)                  READ                   as the normaliser's
transactional id ``A-`` (prefixed)     WRITE                  as the normaliser's
=====================================  =====================  ===============================================

Neither processor has IDEMPOTENT_WRITE on the cluster: a transactional producer's InitProducerId is
authorised by WRITE on its transactional id (the secured-broker test runs both processors without it).
Neither may create its input or output topics: ``govbus topics sync`` creates them as the administrator,
and a processor asks to create only those missing from what it may describe (:func:`govbus.topics.ensure_topics`).
The normaliser's heartbeat topic is its own, as its changelogs are: it creates it when missing.

**Operator** (user ``operator``): metadata, lag and the audit; nothing that writes, no record of a data topic.

=====================================  =====================  ===============================================
resource and pattern                   operations             why
=====================================  =====================  ===============================================
topic ``*`` (every topic)              DESCRIBE,              metadata, end offsets (ListOffsets), committed
                                       DESCRIBE_CONFIGS       offsets (OffsetFetch) and topic configurations;
                                                              never READ: records stay unread
group ``*`` (every group)              DESCRIBE               list and describe the groups, fetch their
                                                              committed offsets (lag = end - committed)
cluster ``kafka-cluster``              DESCRIBE_CONFIGS       the broker's configuration
topic ``P.audit.deliveries`` (literal) READ                   the delivery audit (``govbus audit ...``)
topic ``P.control.`` (prefixed)        READ                   subscriptions and grants: who may receive what
topic ``P.sources`` (literal)          READ                   the last event time per source (no record value):
                                                              silent sources and systems
group ``P.operator.`` (prefixed)       READ                   a reader that joins a group or commits in it
=====================================  =====================  ===============================================

An operator's reader that only assigns partitions and commits nothing (``govbus audit``, the topic reader)
needs no group READ: DESCRIBE on every group lets it find its coordinator under any group id.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from govbus.identities import OPERATOR, principal_key, user_name
from govbus.sharing.acl_bindings import allow
from govbus.topic_names import (
    audit_topic,
    canonical_topic,
    dead_letter_topic,
    parked_topic,
    profile_topic,
    sources_topic,
)

NORMALISER = "normaliser"
PROFILES = "profiles"
DEFAULT_APP_IDS = {NORMALISER: "govbus-normaliser", PROFILES: "govbus-profiles"}
"""The processors' default app ids (``NormaliserSettings.normaliser_app_id``, ``ProfileSettings.profiles_app_id``:
the stream processors sit above this layer; a unit test keeps the two in step)."""
CLUSTER = "kafka-cluster"
CHANGELOG_PREFIX = "changelog__"

_TOPIC, _GROUP, _TXN = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
_PREFIXED, _LITERAL = ResourcePatternType.PREFIXED, ResourcePatternType.LITERAL
_READ, _WRITE, _CREATE = AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE
_DESCRIBE, _CONFIGS = AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS


def processor_user(name: str) -> str:
    """The user name of stream processor ``name``'s principal: ``processor.normaliser``."""
    return user_name(principal_key("processor", name))


def operator_user() -> str:
    """The user name of the operators' principal: ``operator``."""
    return user_name(OPERATOR)


def _bindings(user: str, resource: ResourceType, name: str, pattern: ResourcePatternType,
              operations: Iterable[AclOperation], permission: AclPermissionType = AclPermissionType.ALLOW
              ) -> list[AclBinding]:
    return allow(f"User:{user}", resource, name, operations, pattern, permission)


def _prefix_of(topic: str, last: str) -> str:
    """``topic`` up to and with the dot before its last segment ``last``: the prefixed pattern of its siblings."""
    if not topic.endswith(f".{last}"):
        raise ValueError(f"{topic!r} does not end in the segment {last!r}")
    return topic[:-len(last)]


def _internal_topics(user: str, app_id: str) -> list[AclBinding]:
    """Quix Streams' changelogs of ``app_id``: created when missing, written and read back, configs checked."""
    return _bindings(user, _TOPIC, f"{CHANGELOG_PREFIX}{app_id}--", _PREFIXED, (_CREATE, _READ, _WRITE, _CONFIGS))


def _exactly_once(user: str, app_id: str) -> list[AclBinding]:
    """The consumer group ``app_id`` and the transactional ids ``<app_id>-<host>-<digest>`` of its workers."""
    return (_bindings(user, _GROUP, app_id, _LITERAL, (_READ,))
            + _bindings(user, _TXN, f"{app_id}-", _PREFIXED, (_WRITE,)))


def processor_acls(name: str, prefix: str, app_id: str | None = None) -> list[AclBinding]:
    """What stream processor ``name`` (``normaliser`` or ``profiles``) may do under topic prefix ``prefix``, with
    app id ``app_id`` (default: the processor's default app id); see the module docstring for why."""
    if name not in DEFAULT_APP_IDS:
        raise ValueError(f"unknown stream processor {name!r}: one of {', '.join(DEFAULT_APP_IDS)}")
    app = app_id or DEFAULT_APP_IDS[name]
    user = processor_user(name)
    canonical = _prefix_of(canonical_topic("x", prefix), "x")
    if name == NORMALISER:
        parked = _prefix_of(parked_topic("x", prefix), "x")
        topics = (_bindings(user, _TOPIC, f"{prefix}.dept.", _PREFIXED, (_READ, _CONFIGS))
                  + _bindings(user, _TOPIC, f"{prefix}.local.", _PREFIXED, (_READ, _CONFIGS))
                  + _bindings(user, _TOPIC, canonical, _PREFIXED, (_WRITE,))
                  + _bindings(user, _TOPIC, _prefix_of(dead_letter_topic("x", prefix), "x"), _PREFIXED, (_WRITE,))
                  + _bindings(user, _TOPIC, parked, _PREFIXED, (_WRITE,), AclPermissionType.DENY)
                  + _bindings(user, _TOPIC, sources_topic(prefix), _LITERAL, (_CREATE, _READ, _WRITE)))
    else:
        topics = (_bindings(user, _TOPIC, canonical, _PREFIXED, (_READ, _CONFIGS))
                  + _bindings(user, _TOPIC, f"{app}-", _PREFIXED, (_CREATE, _READ, _WRITE, _CONFIGS))
                  + _bindings(user, _TOPIC, _prefix_of(profile_topic("x", prefix), "x"), _PREFIXED, (_WRITE,)))
    return topics + _internal_topics(user, app) + _exactly_once(user, app)


def operator_acls(prefix: str) -> list[AclBinding]:
    """What the operator may do: describe every topic, group and the cluster's configs, read the audit, the
    control topics and the sources topic under ``prefix``; write nothing (see the module docstring)."""
    user = operator_user()
    return (_bindings(user, _TOPIC, "*", _LITERAL, (_DESCRIBE, _CONFIGS))
            + _bindings(user, _GROUP, "*", _LITERAL, (_DESCRIBE,))
            + _bindings(user, ResourceType.BROKER, CLUSTER, _LITERAL, (_CONFIGS,))
            + _bindings(user, _TOPIC, audit_topic(prefix), _LITERAL, (_READ,))
            + _bindings(user, _TOPIC, f"{prefix}.control.", _PREFIXED, (_READ,))
            + _bindings(user, _TOPIC, sources_topic(prefix), _LITERAL, (_READ,))
            + _bindings(user, _GROUP, f"{prefix}.operator.", _PREFIXED, (_READ,)))
