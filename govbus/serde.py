"""Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) with fastavro.

Schemas are parsed once and cached by id; the 5-byte header is written and read here, so the
hot path does no per-message registry look-up.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
from dataclasses import dataclass
from typing import Any

import fastavro
import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from govbus.exceptions import DecodeError, RegistryError, SerdeError

_MAGIC = 0
_HEADER = struct.Struct(">bI")


@dataclass(frozen=True)
class Decoded:
    schema_id: int
    value: dict[str, Any]


class WireEncoder:
    """Encodes dicts against one schema registered under ``subject``."""

    def __init__(self, registry: SchemaRegistryClient, subject: str, schema: dict[str, Any]) -> None:
        self.schema_id = _registered_id(registry, subject, Schema(json.dumps(schema), "AVRO"))
        self._parsed = fastavro.parse_schema(schema)
        self._header = _HEADER.pack(_MAGIC, self.schema_id)

    def encode(self, value: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(self._header)
        try:
            fastavro.schemaless_writer(out, self._parsed, value)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:  # Overflow: beyond a long
            raise SerdeError(f"value does not match schema {self.schema_id}: {_described(error)} (the value is not "
                             "shown: it may hold personal data)") from error
        return out.getvalue()


_NOT_FOUND = (40401, 40403)  # subject not found, schema not found
_AUTHENTICATION = (40101, 40301)  # who you are, what you may do: the registry's message says what to do


def _registered_id(registry: SchemaRegistryClient, subject: str, schema: Schema) -> int:
    """The id of ``schema`` under ``subject``: looked up first (a read, which every principal may do), and
    registered only when the subject does not hold it yet (which only its owner or an operator may do)."""
    try:
        return int(registry.lookup_schema(subject, schema).schema_id)
    except SchemaRegistryError as error:
        if error.error_code not in _NOT_FOUND:
            raise _failed("looking up", subject, error) from error
    except (httpx.TransportError, OSError) as error:  # the registry did not answer
        raise _unanswered("looking up", subject, error) from error
    try:
        return int(registry.register_schema(subject, schema))
    except SchemaRegistryError as error:
        raise _failed("registering", subject, error) from error
    except (httpx.TransportError, OSError) as error:
        raise _unanswered("registering", subject, error) from error


def _unanswered(step: str, subject: str, error: Exception) -> RegistryError:
    return RegistryError(f"the schema registry did not answer {step} the schema of subject {subject!r}: "
                         f"{type(error).__name__}; check that it runs and GOVBUS_REGISTRY__URL points at it, "
                         "then try again")


def _failed(step: str, subject: str, error: SchemaRegistryError) -> RegistryError:
    hint = "" if error.error_code in _AUTHENTICATION else "; check the schema and the subject's compatibility level"
    return RegistryError(f"{step} the schema of subject {subject!r} failed: {error.error_message} "
                         f"(error {error.error_code}){hint}")


_FIELD = re.compile(r"(?:on field|for) ([A-Za-z_][\w.]*)")


def _described(error: Exception) -> str:
    """What an Avro encoding error says, without any value it may quote: its kind and the field it names."""
    named = _FIELD.search(str(error))
    return f"{type(error).__name__} on field {named.group(1)}" if named else type(error).__name__


class WireDecoder:
    """Decodes wire-format bytes with any schema the registry knows (cached by id).

    With ``logical_types=False`` values come as Avro stores them, without fastavro's conversions:
    dates as days since 1970-01-01, timestamps as epoch milliseconds, uuids as strings (what the
    profile builder keeps and re-encodes; creating and converting back datetime and UUID objects
    was a third of its decoding time).
    """

    def __init__(self, registry: SchemaRegistryClient, *, logical_types: bool = True) -> None:
        self._registry = registry
        self._logical_types = logical_types
        self._schemas: dict[int, Any] = {}
        self._lock = threading.Lock()

    def decode(self, data: bytes | None) -> Decoded:
        if data is None or len(data) < _HEADER.size:
            raise DecodeError("value is empty or shorter than the 5-byte Confluent wire-format header")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise DecodeError(f"first byte is {magic}, not the Confluent wire-format magic byte 0")
        parsed = self._schema(schema_id)
        try:
            value = fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size:]), parsed, None)
        except Exception as error:
            raise DecodeError(f"Avro body does not decode with schema {schema_id}: {error!r}") from error
        if not isinstance(value, dict):
            raise DecodeError(f"schema {schema_id} is not a record schema")
        return Decoded(schema_id, value)

    def _schema(self, schema_id: int) -> Any:
        with self._lock:
            if schema_id in self._schemas:
                return self._schemas[schema_id]
        schema = writer_schema(self._registry, schema_id)
        parsed = fastavro.parse_schema(schema if self._logical_types else without_logical_types(schema))
        with self._lock:
            self._schemas[schema_id] = parsed
        return parsed


def writer_schema(registry: SchemaRegistryClient, schema_id: int) -> Any:
    """The schema registered under ``schema_id``, as JSON (not parsed).

    :class:`DecodeError` when the registry has no such id (the message's fault),
    :class:`RegistryError` when the registry could not be asked (not the message's fault).
    """
    try:
        schema = registry.get_schema(schema_id)
    except SchemaRegistryError as error:
        if error.http_status_code == 404:
            raise DecodeError(f"schema id {schema_id} is not in the registry") from error
        raise RegistryError(f"looking up schema {schema_id} failed: {error.error_message}") from error
    except Exception as error:  # the client's transport errors (httpx2) have no common type
        raise RegistryError(f"the schema registry did not answer the look-up of schema {schema_id}: {error!r}; "
                            "check that it runs and GOVBUS_REGISTRY__URL points at it") from error
    return json.loads(schema.schema_str or "null")


def without_logical_types(schema: Any) -> Any:
    """``schema`` (JSON form) with every ``logicalType`` annotation removed: its values read as their base types."""
    if isinstance(schema, list):
        return [without_logical_types(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    return {name: without_logical_types(value) for name, value in schema.items() if name != "logicalType"}
