"""Event ids a client can ask for again: the ``Idempotency-Key`` request header (the name of the IETF httpapi
working group's idempotency-key draft).

A client that gets a 503, or no answer at all (a broker restart in the middle of its request, a dropped
connection), cannot know which of its records the broker stored, and must send the batch again. Each record
then used to get a new random event id, so a record stored the first time was stored twice under two ids, and
the normaliser, which drops a re-sent event by its event id, let both through.

With the header, the gateway derives each record's event id instead of drawing it:

1. the key is checked: 1 to :data:`MAX_IDEMPOTENCY_KEY` printable ASCII characters (a UUID is a good key),
   else the request is refused (400 ``bad_header``) before any record is read;
2. a record's event id is the version-5 UUID, under govbus's own :data:`NAMESPACE`, of the department, the
   item, the key, the record's number in the request and the record itself (:func:`record_event_id`);
3. so the same batch sent again with the same key gets the same event ids, record by record, and the stream
   processors' deduplication by event id drops the repeats (within the normaliser's window,
   ``GOVBUS_NORMALISER_DEDUP_WINDOW_SECONDS``, an hour by default).

The record is part of the name on purpose: a client that wrongly reuses a key for other records gets new event
ids for them, so they are published, never dropped downstream as repeats of the earlier ones. Without the header
every record gets a random id, as before. Nothing is stored: the gateway keeps no table of keys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from govbus.exceptions import ValidationError

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY_PATTERN = "^[ -~]+$"
"""Printable ASCII (U+0020 to U+007E), as a JSON-schema pattern."""

NAMESPACE = uuid.UUID("a82fe7fb-d7b4-4e3d-a61a-4932a6751a30")
"""govbus's namespace of gateway event ids (drawn once; changing it changes every derived id)."""


def key_problem(key: str) -> str | None:
    """Why ``key`` is no idempotency key (empty, too long, a character outside printable ASCII), else ``None``.
    The reason names a character's code point and position, never the key itself."""
    if not key:
        return "is empty"
    if len(key) > MAX_IDEMPOTENCY_KEY:
        return f"is longer than {MAX_IDEMPOTENCY_KEY} characters"
    for position, character in enumerate(key, start=1):
        if not " " <= character <= "~":
            return f"character {position} is U+{ord(character):04X}, not a printable ASCII character"
    return None


def record_event_id(department: str, item: str, key: str, number: int, record: Mapping[str, Any]) -> uuid.UUID:
    """The event id of record ``number`` (from 1) of a request with idempotency key ``key``: the same for the same
    department, item, key, number and record (its fields in any order), different when any of them differs.
    :class:`ValidationError` (``record.nesting``) for a record nested too deeply to be written out."""
    try:
        # ASCII escapes: a lone surrogate a JSON string may hold cannot be encoded as UTF-8 for the hash
        name = json.dumps([department, item, key, number, record], sort_keys=True, separators=(",", ":"))
    except RecursionError:
        raise ValidationError("record", "record.nesting", "the record is nested too deeply to be read; a catalogue "
                              "record holds at most lists of records: send the item's fields only") from None
    return uuid.uuid5(NAMESPACE, name)
