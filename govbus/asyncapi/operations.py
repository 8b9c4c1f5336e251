"""The operations of each role on each channel: one AsyncAPI operation per (role, send or receive, channel).

An operation's id is ``<role>.<send|receive>.<channel id>`` (``normaliser.receive.dept.taxation.tax-payment-
certificate``) and its tag is the role, so a reader (or a code generator) picks one role's side of the bus.
"""

from __future__ import annotations

from typing import Any

from govbus.asyncapi.channels import Channel
from govbus.asyncapi.roles import ROLES, Role, TopicKind

K = TopicKind
SUMMARIES: dict[tuple[str, str, TopicKind], str] = {
    ("department", "send", K.DEPARTMENT): "Publish a change of one of its records (the Publisher SDK, the ingest "
                                          "gateway or the outbox connector).",
    ("department", "send", K.LOCAL): "A local system publishes a change in its own dialect.",
    ("department", "send", K.GRANTS): "Approve, change or revoke a grant of one of its items.",
    ("department", "receive", K.GRANTS): "List its grants.",
    ("normaliser", "receive", K.DEPARTMENT): "Decode, deduplicate by event id and validate each event.",
    ("normaliser", "receive", K.LOCAL): "Decode each local event and map its record to the canonical one.",
    ("normaliser", "send", K.CANONICAL): "Write the canonical event, in one transaction with the input offsets "
                                         "(exactly once).",
    ("normaliser", "send", K.DEAD_LETTER): "Write a rejected record, untouched, with why.",
    ("normaliser", "send", K.SOURCES): "Note the newest event time of each source.",
    ("profile-builder", "receive", K.CANONICAL): "Read the item's canonical events to rebuild the profiles it feeds.",
    ("profile-builder", "send", K.PROFILE): "Write the new profile (or a tombstone) after a change, exactly once.",
    ("subscriber-connector", "receive", K.CANONICAL): "Read the events its subscription's grants allow.",
    ("subscriber-connector", "receive", K.PROFILE): "Read the profiles its subscription's grants allow (a grant of "
                                                    "every item of the profile).",
    ("subscriber-connector", "receive", K.PARKED): "Read its parked deliveries to send them again "
                                                   "(`govbus subscriptions redeliver`).",
    ("subscriber-connector", "receive", K.SUBSCRIPTIONS): "Reload the subscriptions every few seconds.",
    ("subscriber-connector", "receive", K.GRANTS): "Reload the grants every few seconds: a revoked or expired grant "
                                                   "stops delivery without a restart.",
    ("subscriber-connector", "send", K.DELIVERY): "Write each event its subscription delivers (Kafka delivery).",
    ("subscriber-connector", "send", K.PARKED): "Park what the receiver did not take after every retry.",
    ("subscriber-connector", "send", K.AUDIT): "Record the outcome of every event (delivered, parked or refused).",
    ("subscriber", "send", K.SUBSCRIPTIONS): "Declare or remove a subscription (`govbus subscriptions add`).",
    ("subscriber", "receive", K.SUBSCRIPTIONS): "List its subscriptions.",
    ("subscriber", "receive", K.GRANTS): "See which grants it holds.",
    ("subscriber", "receive", K.DELIVERY): "Consume its deliveries (consumer groups `<prefix>.subscriber."
                                           "<subscriber>.*`).",
    ("operator", "receive", K.AUDIT): "Answer who received what (`govbus audit ...`).",
    ("operator", "receive", K.SUBSCRIPTIONS): "See who subscribed to what.",
    ("operator", "receive", K.GRANTS): "See who may receive what.",
    ("operator", "receive", K.SOURCES): "Find silent sources (`govbus sources silent`).",
    ("administrator", "receive", K.DEAD_LETTER): "Inspect rejected records.",
}
"""What each role does on each kind of topic; every (role, action, kind) of :data:`ROLES` has one."""


def summary(role: Role, action: str, kind: TopicKind) -> str:
    return SUMMARIES[(role.name, action, kind)]


def _applies(role: Role, channel: Channel, profile_items: frozenset[str]) -> bool:
    """Whether ``role`` uses ``channel`` at all: the profile builder reads only the items its profiles join."""
    if role.name == "profile-builder" and channel.kind is TopicKind.CANONICAL:
        return channel.item in profile_items
    return True


def operation(role: Role, action: str, channel: Channel) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel.id}"},
        "summary": summary(role, action, channel.kind),
        "messages": [{"$ref": f"#/channels/{channel.id}/messages/{key}"} for key in channel.messages],
        "tags": [{"$ref": f"#/components/tags/{role.name}"}],
    }


def operations(channels: list[Channel], profile_items: frozenset[str]) -> dict[str, dict[str, Any]]:
    """Every operation of every role, channel by channel (senders first)."""
    found: dict[str, dict[str, Any]] = {}
    for channel in channels:
        for action in ("send", "receive"):
            for role in ROLES:
                kinds = role.sends if action == "send" else role.receives
                if channel.kind in kinds and _applies(role, channel, profile_items):
                    found[f"{role.name}.{action}.{channel.id}"] = operation(role, action, channel)
    return found


def tags() -> dict[str, dict[str, str]]:
    """One tag per role, for the operations to refer to."""
    return {role.name: {"name": role.name, "description": f"{role.description} Principal: {role.principal}."}
            for role in ROLES}
