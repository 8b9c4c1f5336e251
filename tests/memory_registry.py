"""An in-memory stand-in for the schema-registry calls WireEncoder and WireDecoder make (unit tests only;
integration tests use the real registry)."""

from __future__ import annotations

from confluent_kafka.schema_registry import RegisteredSchema, Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError


class MemoryRegistry:
    """The registry calls WireEncoder (look up, then register) and WireDecoder make, in memory."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.down = False

    def lookup_schema(self, subject: str, schema: Schema) -> RegisteredSchema:
        for schema_id, text in self.schemas.items():
            if text == schema.schema_str:
                return RegisteredSchema(subject=subject, version=1, schema_id=schema_id, guid=None, schema=schema)
        raise SchemaRegistryError(404, 40403, "Schema not found")

    def register_schema(self, subject: str, schema: Schema) -> int:
        for schema_id, text in self.schemas.items():
            if text == schema.schema_str:
                return schema_id
        self.schemas[len(self.schemas) + 1] = str(schema.schema_str)
        return len(self.schemas)

    def get_schema(self, schema_id: int) -> Schema:
        if self.down:
            raise SchemaRegistryError(503, 50300, "unavailable")
        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(self.schemas[schema_id], "AVRO")
