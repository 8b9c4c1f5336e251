"""Who is who on the bus: the principals, their user names, and the credentials file that holds them.

Every party authenticates to the broker (SASL/SCRAM) and to the schema registry (HTTP Basic) as one
principal. A credentials file is a JSON object mapping each principal's key to its ``username`` and
``password``; its mode must be 0600.

===========================  ==========================  ==================================================
key                          user name                   who
===========================  ==========================  ==================================================
``admin``                    ``admin``                   the platform itself (super user: topic and ACL sync)
``operator``                 ``operator``                people who run the bus: metadata, lag, the audit
``department:<slug>``        ``department.<slug>``       a providing department: its own topics, its grants
``processor:<name>``         ``processor.<name>``        a stream processor (``normaliser``, ``profiles``)
``connector:<subscription>`` ``connector.<subscription>`` the platform's delivery of one subscription
``subscriber:<slug>``        ``subscriber.<slug>``       a subscribing system: its subscriptions, its topics
===========================  ==========================  ==================================================

A subscriber's own principal never reads canonical records: the platform's connector of each of its
subscriptions does, within what the grants allow, and masks before anything reaches the subscriber.
"""

from __future__ import annotations

import json
from pathlib import Path

from govbus.exceptions import ConfigurationError

ADMIN = "admin"
OPERATOR = "operator"
KINDS = ("department", "processor", "connector", "subscriber")


def principal_key(kind: str, name: str) -> str:
    """The key of a principal in a credentials file: ``department:taxation``."""
    if kind not in KINDS:
        raise ValueError(f"unknown principal kind {kind!r}: one of {', '.join(KINDS)}")
    return f"{kind}:{name}"


def user_name(key: str) -> str:
    """The SCRAM / HTTP Basic user name of the principal with ``key``: ``department:taxation`` ->
    ``department.taxation``; ``admin`` and ``operator`` are their own user names."""
    return key.replace(":", ".", 1)


def key_of_user(user: str) -> str:
    """The principal key a user name stands for (the inverse of :func:`user_name`)."""
    kind, _, name = user.partition(".")
    return f"{kind}:{name}" if name and kind in KINDS else user


def load_credentials(path: Path) -> dict[str, dict[str, str]]:
    """The credentials in ``path``; :class:`ConfigurationError` if it is unreadable or others may read it."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise ConfigurationError(f"cannot read the credentials file {path}: {error.strerror}") from None
    if mode & 0o077:
        raise ConfigurationError(f"{path} may be read by other users than its owner: `chmod 600 {path}` (and "
                                 "consider the passwords in it known: change them)")
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return {key: {"username": str(entry["username"]), "password": str(entry["password"])}
                for key, entry in found.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError(f"{path} is not a credentials file (JSON of principal -> username, password): "
                                 f"{type(error).__name__}") from None
