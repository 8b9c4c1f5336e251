"""The audit record and how a stored one is parsed: what every reader of the audit shares.

Kept apart from :mod:`govbus.audit` (the writer, on Kafka's client) so that a reader that never touches Kafka,
``govbus audit who-received`` asking the audit index, starts without loading it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from govbus.audit_chain import ChainLink


class Outcome(StrEnum):
    DELIVERED = "delivered"
    PARKED = "parked"
    REFUSED = "refused"


class AuditRecord(BaseModel):
    """One event's outcome for one subscription."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: dt.datetime = Field(description="when the outcome became final (UTC)")
    subscriber: str
    subscription: str
    connector: str = Field(description="webhook, postgres, feed, ...")
    item: str
    record_key: str = Field(description="the record's key in clear (the audit is internal)")
    event_id: str
    operation: str = "UPSERT"
    outcome: Outcome
    fields_delivered: list[str] = Field(default_factory=list)
    fields_masked: list[str] = Field(default_factory=list)
    grant_id: str | None = None
    attempts: int = 0
    reason: str | None = None
    link: ChainLink | None = Field(default=None, description="its place in its writer's chain, and its signature "
                                                             "(none in records written before the audit was chained)")


@dataclass(frozen=True)
class Unparsable:
    """A record of the audit topic that holds no audit record: where it is and why (never its content)."""

    partition: int
    offset: int
    reason: str


class UnparsableValue(ValueError):
    """A value that is not an audit record; the message says why without quoting it."""


def parse_value(value: bytes | None) -> tuple[dict[str, Any], AuditRecord]:
    """The JSON object ``value`` holds and its audit record; :class:`UnparsableValue` if it holds none."""
    if value is None:
        raise UnparsableValue("no value (a tombstone)")
    try:
        document = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        raise UnparsableValue("not JSON text") from None
    if not isinstance(document, dict):
        raise UnparsableValue(f"a JSON {type(document).__name__}, not an object")
    try:
        return document, AuditRecord.model_validate(document)
    except PydanticError as error:  # its locations and error types only: the input may be a record key
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'record'}: {e['type']}"
                             for e in error.errors()[:3])
        raise UnparsableValue(f"not an audit record ({problems})") from None
