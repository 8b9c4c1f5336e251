"""The change-event envelope every data item travels in.

A department's change to one record becomes one event: who published it (department, source
system), what changed (data item, operation, record key), when (occurred-at, published-at),
a trace id, and the record itself (``None`` for a delete). On the wire it is one Avro record
whose ``record`` field has the item's own schema; :func:`envelope_schema` builds it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_NAMESPACE = "gov.govbus.envelope"


class Operation(StrEnum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ChangeEvent(BaseModel):
    """One change of one record of one data item."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    data_item: str
    department: str
    source_system: str
    operation: Operation = Operation.UPSERT
    record_key: str
    occurred_at: dt.datetime
    published_at: dt.datetime = Field(default_factory=_now)
    trace_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    record: dict[str, Any] | None = None

    def to_avro(self) -> dict[str, Any]:
        """The dict fastavro / AvroSerializer encode against :func:`envelope_schema`."""
        return {
            "event_id": str(self.event_id),
            "data_item": self.data_item,
            "department": self.department,
            "source_system": self.source_system,
            "operation": self.operation.value,
            "record_key": self.record_key,
            "occurred_at": self.occurred_at,
            "published_at": self.published_at,
            "trace_id": self.trace_id,
            "record": self.record,
        }

    @classmethod
    def from_avro(cls, value: dict[str, Any]) -> ChangeEvent:
        return cls.model_validate(value)


def envelope_schema(record_schema: dict[str, Any], event_name: str) -> dict[str, Any]:
    """The Avro schema of ``event_name`` events carrying records of ``record_schema``."""
    return {
        "type": "record",
        "name": event_name,
        "namespace": record_schema.get("namespace", ENVELOPE_NAMESPACE),
        "doc": f"A change event carrying one {record_schema['name']} record (null on delete).",
        "fields": [
            {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"},
             "doc": "Unique id of this event; a re-sent event keeps its id."},
            {"name": "data_item", "type": "string", "doc": "Catalogue name of the data item."},
            {"name": "department", "type": "string", "doc": "Publishing department."},
            {"name": "source_system", "type": "string", "doc": "The department's system that produced the change."},
            {"name": "operation", "type": {"type": "enum", "name": "Operation",
                                           "namespace": ENVELOPE_NAMESPACE, "symbols": ["UPSERT", "DELETE"]}},
            {"name": "record_key", "type": "string", "doc": "The record's key fields, joined with '|'."},
            {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"},
             "doc": "When the change happened in the source system."},
            {"name": "published_at", "type": {"type": "long", "logicalType": "timestamp-millis"},
             "doc": "When govbus accepted the event."},
            {"name": "trace_id", "type": "string", "doc": "Correlates the event across components."},
            {"name": "record", "type": ["null", record_schema], "default": None,
             "doc": "The record after the change; null on delete."},
        ],
    }
