"""Payload and key schemas: Avro through AsyncAPI's multi-format schema, JSON as AsyncAPI (JSON Schema) schemas.

- An Avro payload is ``{"schemaFormat": AVRO_FORMAT, "schema": <the Avro schema>}``: the very schema govbus
  registers (the item's change-event envelope, a dialect's envelope, a profile), so a code generator or a
  consumer reads the same fields the registry holds. On the wire the value is in the Confluent format:
  byte 0 (magic), the 4-byte big-endian schema id, then the Avro binary body (:mod:`govbus.serde`).
- A JSON payload of a record govbus models in pydantic (subscriptions, grants, audit records, source
  heartbeats) is that model's JSON Schema, its nested definitions placed under ``components.schemas``.
- Keys are plain UTF-8 strings (no schema id, no registry subject): :func:`item_key` says which fields make one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.catalogue.model import KEY_SEPARATOR, DataItem

Schema = dict[str, Any]

AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
AVRO_CONTENT_TYPE = "application/avro"
JSON_CONTENT_TYPE = "application/json"
SCHEMA_REF = "#/components/schemas/{model}"


def avro(schema: dict[str, Any]) -> Schema:
    """A multi-format schema object holding an Avro schema."""
    return {"schemaFormat": AVRO_FORMAT, "schema": schema}


def item_key(item: DataItem) -> Schema:
    """The Kafka key of ``item``'s department and canonical events: its key fields' values joined with ``|``."""
    fields = item.key_fields
    if len(fields) == 1:
        text = f"The record's `{fields[0]}` as UTF-8 text (the envelope's `record_key`)."
    else:
        joined = f" {KEY_SEPARATOR} ".join(f"`{name}`" for name in fields)
        text = (f"The record's {joined}: the values joined with `{KEY_SEPARATOR}` as UTF-8 text, dates as ISO "
                "dates (the envelope's `record_key`).")
    return {"type": "string", "description": text}


def text_key(description: str) -> Schema:
    return {"type": "string", "description": description}


def model_schemas(models: list[type[BaseModel]]) -> tuple[dict[str, Schema], dict[str, Schema]]:
    """(each model's JSON Schema by model name, the nested definitions they refer to by name)."""
    by_model, definitions = models_json_schema([(model, "serialization") for model in models],
                                               ref_template=SCHEMA_REF)
    top = {model.__name__: by_model[(model, "serialization")] for model in models}
    nested = definitions.get("$defs", {})
    for model in models:
        reference = top[model.__name__]
        if "$ref" in reference:  # the model itself was placed among the definitions
            top[model.__name__] = nested.pop(reference["$ref"].rsplit("/", 1)[1])
    return top, nested


def delivered_event() -> Schema:
    """The JSON of one delivered event (:func:`connectors.webhook.payload.shape_event`): what a subscriber reads
    on its delivery topic, inside a webhook batch, and what is parked when its receiver refuses it."""
    text = {"type": "string"}
    time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "title": "DeliveredEvent",
        "required": ["event_id", "idempotency_key", "item", "department", "operation", "record_key",
                     "occurred_at", "published_at", "trace_id", "record", "masked_fields"],
        "properties": {
            "event_id": {**text, "format": "uuid", "description": "The event id (the same on a re-delivery)."},
            "idempotency_key": {**text, "description": "The event id again: drop a repeated event by it."},
            "item": {**text, "description": "The data item, or `profile:<name>`."},
            "department": {"type": ["string", "null"], "description": "The providing department (null: a profile)."},
            "operation": {"type": "string", "enum": ["UPSERT", "DELETE"]},
            "record_key": {**text, "description": "The record key in clear when every key field is delivered "
                                                  "unmasked; otherwise `hmac-sha256:<hex>`, the subscriber's pseudonym "
                                                  "of it."},
            "occurred_at": {**time, "description": "When the change happened in the source system."},
            "published_at": {**time, "description": "When govbus accepted it."},
            "trace_id": text,
            "record": {"type": ["object", "null"], "additionalProperties": True,
                       "description": "The fields the subscription's grants deliver (personal ones masked unless "
                                      "a grant names them `unmasked`); null for a DELETE."},
            "masked_fields": {"type": "array", "items": text, "description": "The delivered fields that are masked."},
        },
    }


def raw_bytes(description: str) -> Schema:
    """A payload govbus passes on untouched (any bytes)."""
    return {"type": "string", "format": "binary", "description": description}
