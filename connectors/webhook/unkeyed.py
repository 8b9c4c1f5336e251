"""Items whose record keys would need a pseudonym when the platform's pseudonym key is missing.

Shared by the delivery connectors that pseudonymise keys (the webhook, the Kafka delivery). Such an
item is never delivered with its keys in clear nor under a weaker pseudonym: at start the connector
refuses to run (:func:`check_keys_at_start`), and an item that needs pseudonyms only after a later
change of grants or subscription is refused, audited with the reason (:func:`refuse_unkeyed`).
"""

from __future__ import annotations

import dataclasses

from connectors.webhook.payload import key_in_clear
from connectors.webhook.plans import Authorisation, Decision
from govbus.exceptions import ConfigurationError
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE, missing_key_message


def unkeyed_reason(decision: Decision) -> str:
    return (f"the record keys of {decision.item} are not for this subscriber to see in clear (key field "
            f"{', '.join(decision.key_fields)} masked or not asked for), and no pseudonym key is set "
            f"({PSEUDONYM_KEY_VARIABLE}): its events are not delivered")


def refuse_unkeyed(authorisation: Authorisation, has_pseudonym_key: bool) -> Authorisation:
    """``authorisation``, with every planned item whose record keys would need a pseudonym refused when there is
    no key to make one with (the same object when nothing changes)."""
    if has_pseudonym_key:
        return authorisation
    decisions = {item: Decision(item, None, unkeyed_reason(d))
                 if d.plan is not None and not key_in_clear(d.plan, d.key_fields) else d
                 for item, d in authorisation.decisions.items()}
    if decisions == authorisation.decisions:
        return authorisation
    return dataclasses.replace(authorisation, decisions=decisions)


def check_keys_at_start(name: str, authorisation: Authorisation, has_pseudonym_key: bool) -> None:
    """A :class:`ConfigurationError` saying what to set when an item planned now would need a missing key."""
    checked = refuse_unkeyed(authorisation, has_pseudonym_key)
    unkeyed = [d.reason or "" for item, d in checked.decisions.items()
               if d.plan is None and authorisation.decisions[item].plan is not None]
    if unkeyed:
        raise ConfigurationError(f"subscription {name!r}: " + "; ".join(unkeyed) + ". " + missing_key_message()
                                 + "; or ask for the key fields under a grant that unmasks them")
