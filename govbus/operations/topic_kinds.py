"""Which kind of topic a name is, read back with the naming convention of :mod:`govbus.topic_names`.

The kinds are the ``kind`` label of ``govbus_topic_end_offset``: ``dept``, ``local``, ``canonical``,
``dead-letter``, ``parked``, ``profile``, ``delivery``, ``audit``, ``control``, or ``other`` for a name under
the prefix that follows none of them. Each namespace is taken from the function that builds its names (with a
placeholder segment), so the parser cannot drift from the builders.
"""

from __future__ import annotations

from collections.abc import Callable

from govbus.topic_names import (
    audit_topic,
    canonical_topic,
    control_prefix,
    dead_letter_topic,
    delivery_prefix,
    department_topic,
    local_topic,
    parked_topic,
    profile_topic,
)

OTHER = "other"
_PLACEHOLDER = "x"
_BUILDERS: dict[str, Callable[[str], str]] = {
    "dept": lambda p: department_topic(_PLACEHOLDER, _PLACEHOLDER, p),
    "local": lambda p: local_topic(_PLACEHOLDER, _PLACEHOLDER, _PLACEHOLDER, p),
    "canonical": lambda p: canonical_topic(_PLACEHOLDER, p),
    "dead-letter": lambda p: dead_letter_topic(_PLACEHOLDER, p),
    "parked": lambda p: parked_topic(_PLACEHOLDER, p),
    "profile": lambda p: profile_topic(_PLACEHOLDER, p),
    "delivery": lambda p: delivery_prefix(_PLACEHOLDER, p),
    "audit": audit_topic,
    "control": control_prefix,
}
KINDS = (*_BUILDERS, OTHER)
TRANSACTIONAL_KINDS = frozenset({"canonical", "profile", "dead-letter"})
"""written by the stream processors alone, which write with transactions only (exactly-once)"""


def _namespace(example: str, prefix: str) -> str:
    """The start every name of ``example``'s kind shares: the segments after the prefix up to the first
    placeholder (``canonical.``), or the whole name when it has none (the audit topic)."""
    segments = example[len(prefix) + 1:].split(".")
    kept = segments[:segments.index(_PLACEHOLDER)] if _PLACEHOLDER in segments else segments
    whole = _PLACEHOLDER not in segments and not example.endswith(".")
    return f"{prefix}." + ".".join(s for s in kept if s) + ("" if whole else ".")


def namespaces(prefix: str) -> list[tuple[str, str]]:
    """(namespace, kind) under ``prefix``, longest first (``dead-letter.subscription.`` before
    ``dead-letter.``)."""
    found = [(_namespace(build(prefix), prefix), kind) for kind, build in _BUILDERS.items()]
    return sorted(found, key=lambda pair: len(pair[0]), reverse=True)


class TopicKinds:
    """:meth:`kind` of the topics under one prefix."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._namespaces = namespaces(prefix)

    def under(self, topic: str) -> bool:
        """Whether ``topic`` is one of this prefix's."""
        return topic.startswith(f"{self._prefix}.")

    def kind(self, topic: str) -> str:
        """``topic``'s kind (:data:`OTHER` when it follows no convention)."""
        for namespace, kind in self._namespaces:
            if topic == namespace or (namespace.endswith(".") and topic.startswith(namespace)):
                return kind
        return OTHER

    def transactional(self, topic: str) -> bool:
        """Whether every record of ``topic`` is written in a transaction (so each partition ends with a marker)."""
        return self.kind(topic) in TRANSACTIONAL_KINDS
