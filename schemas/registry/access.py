"""Who may do what in the registry: the rules, as pure functions of principal, request and subject.

The registry serves the same principals as the broker (:mod:`govbus.identities`), and mirrors the
broker's write rules: a department writes only its own topics, so it registers schemas only for
their subjects; a stream processor registers only the subjects of the topics it alone writes (the
normaliser canonical topics, the profile builder profile topics), which it does on its first start;
compatibility levels, modes and deletes are changed only by operators. Everyone authenticated may read, because
reading a schema is what decoding a record needs.
"""

from __future__ import annotations

import re
from enum import Enum

from govbus.identities import ADMIN, OPERATOR
from govbus.topic_names import PREFIX_PATTERN


class Action(Enum):
    """What a request does, as far as access is concerned."""

    PUBLIC = "public"
    """``GET /``, ``GET /metrics`` and ``GET /openapi.json``: liveness, scraping and the API's description;
    they say nothing about schemas."""
    READ = "read"
    """Every GET, and the POSTs that only compare (look-up, compatibility test)."""
    REGISTER = "register"
    """``POST /subjects/{subject}/versions``."""
    OPERATE = "operate"
    """Everything else: config, mode, deletes."""


PUBLIC_ROUTES = frozenset({"/", "/metrics", "/openapi.json"})
REGISTER_ROUTE = "/subjects/{subject}/versions"
_COMPARING_POSTS = frozenset({
    "/subjects/{subject}",
    "/compatibility/subjects/{subject}/versions",
    "/compatibility/subjects/{subject}/versions/{version}",
})
_SUBJECT_SUFFIXES = ("-value", "-key")
_WORDS = re.compile(PREFIX_PATTERN)
OPERATORS = frozenset({ADMIN, OPERATOR})


def action_of(method: str, route: str | None) -> Action:
    """The action of ``method`` on the route template ``route`` (``None``: no route matched).

    Unknown routes count as reads: they need credentials but reach no handler (404/405), so
    nothing can change through them. A method this table does not know is an operation, so a
    new write endpoint is closed to departments until someone decides otherwise.
    """
    if route is None:
        return Action.READ
    if method in ("GET", "HEAD"):
        return Action.PUBLIC if route in PUBLIC_ROUTES else Action.READ
    if method == "POST" and route in _COMPARING_POSTS:
        return Action.READ
    if method == "POST" and route == REGISTER_ROUTE:
        return Action.REGISTER
    return Action.OPERATE


def owning_department(subject: str) -> str | None:
    """The slug of the department whose topic ``subject`` belongs to; ``None`` for any other subject.

    A subject is ``<topic>-value`` or ``<topic>-key`` (TopicNameStrategy). A department owns
    ``<prefix>.dept.<slug>.<item>`` and ``<prefix>.local.<slug>.<item>.<dialect>``. The prefix has
    any number of words, so the name is read from its end, where the layout is fixed. A name
    that reads both ways with different owners (``p.local.dept.a.b``) belongs to nobody: only
    an operator registers it.
    """
    topic = next((subject[: -len(s)] for s in _SUBJECT_SUFFIXES if subject.endswith(s)), None)
    if topic is None or not _WORDS.match(topic):
        return None
    words = topic.split(".")
    owners = set()
    if len(words) >= 4 and words[-3] == "dept":
        owners.add(words[-2])
    if len(words) >= 5 and words[-4] == "local":
        owners.add(words[-3])
    return owners.pop() if len(owners) == 1 else None


PROCESSOR_OUTPUTS = {"canonical": "normaliser", "profile": "profiles"}


def owning_processor(subject: str) -> str | None:
    """The stream processor whose output topic ``subject`` belongs to (``<prefix>.canonical.<item>``: the
    normaliser; ``<prefix>.profile.<name>``: the profile builder); ``None`` for any other subject."""
    topic = next((subject[: -len(s)] for s in _SUBJECT_SUFFIXES if subject.endswith(s)), None)
    if topic is None or not _WORDS.match(topic):
        return None
    words = topic.split(".")
    return PROCESSOR_OUTPUTS.get(words[-2]) if len(words) >= 3 else None


def department_of(principal: str) -> str | None:
    """The slug of a department principal (``department:taxation`` -> ``taxation``), else ``None``."""
    kind, _, name = principal.partition(":")
    return name if kind == "department" and name else None


def allowed(principal: str, action: Action, subject: str | None) -> bool:
    """Whether ``principal`` may do ``action`` (on ``subject``, for a registration)."""
    if action is Action.PUBLIC or principal in OPERATORS:
        return True
    if action is Action.READ:
        return True
    if action is Action.REGISTER and subject is not None:
        department = department_of(principal)
        if department is not None:
            return owning_department(subject) == department
        kind, _, name = principal.partition(":")
        return kind == "processor" and owning_processor(subject) == name
    return False


def refusal(principal: str, action: Action, method: str, path: str, subject: str | None) -> str:
    """Why ``principal`` is refused, and what to do instead (the 403 message)."""
    if action is Action.REGISTER:
        department = department_of(principal)
        if department is None:
            rule = ("only departments (for their own topics), stream processors (for their output topics) and "
                    "operators register schemas. Ask an operator to")
        else:
            rule = (f"a department registers only the subjects of its own topics (<prefix>.dept.{department}.<item> "
                    f"and <prefix>.local.{department}.<item>.<dialect>, with -value or -key). Publish to your own "
                    "topics, or ask an operator to")
        return f"Principal '{principal}' may not register schemas under subject '{subject}': {rule} register it."
    return (f"Principal '{principal}' may not {method} {path}: changing compatibility levels and modes and "
            "deleting subjects or versions is for operators only. Ask an operator to do it.")
