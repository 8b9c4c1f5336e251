"""Compatibility levels and judging a new schema against earlier versions.

The verdict comes from Avro's schema-resolution rules as implemented by
``avro.compatibility.ReaderWriterCompatibilityChecker`` ("can a reader with schema R read
data written with schema W?"). Its result only has unordered sets of messages and locations,
so :func:`explain` walks the two schemas alongside it and asks the checker about each part,
producing one reason per problem: where it is (a path such as ``/fields/age/type``) and what
is wrong, in words a schema author can act on.

Levels: BACKWARD means the new schema reads data written with the earlier one(s) (the
new schema is the reader); FORWARD means the earlier one(s) read data written with the new
one; FULL means both; ``_TRANSITIVE`` checks every live version instead of only the latest.

Before checking, aliases of named types are qualified with the type's namespace (as Avro
Java does), so ``"aliases": ["Old"]`` in namespace ``a`` matches a writer named ``a.Old``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
    lookup_writer_field,
    schema_name_equals,
)
from avro.errors import AvroException
from avro.schema import (
    ArraySchema,
    EnumSchema,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

from schemas.registry.canonical import ParsedSchema, parse_schema
from schemas.registry.errors import InvalidCompatibilityLevel, InvalidSchema, shown

Path = tuple[str, ...]


class CompatibilityLevel(StrEnum):
    """The compatibility levels Confluent defines."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @classmethod
    def parse(cls, value: object) -> CompatibilityLevel:
        """The level named by ``value`` (case-insensitive) or :class:`InvalidCompatibilityLevel`."""
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        allowed = ", ".join(cls.__members__)
        raise InvalidCompatibilityLevel(
            f"Invalid compatibility level {shown(value)}. Valid values are: {allowed}."
        )

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


DEFAULT_LEVEL = CompatibilityLevel.BACKWARD


def check_compatibility(
    level: CompatibilityLevel, candidate: ParsedSchema, previous: Sequence[tuple[int, ParsedSchema]]
) -> list[str]:
    """Reasons ``candidate`` breaks ``level`` against ``previous`` (version, schema), oldest first.

    An empty list means compatible.
    """
    if level is CompatibilityLevel.NONE or not previous:
        return []
    targets = previous if level.transitive else previous[-1:]
    new = _prepared(candidate)
    reasons: list[str] = []
    for version, old_parsed in targets:
        old = _prepared(old_parsed)
        if level.backward:
            prefix = f"{level.value}: the new schema cannot read data written with version {version}"
            reasons += [f"{prefix}: {reason}" for reason in explain(reader=new, writer=old)]
        if level.forward:
            prefix = f"{level.value}: version {version} cannot read data written with the new schema"
            reasons += [f"{prefix}: {reason}" for reason in explain(reader=old, writer=new)]
    return reasons


def is_compatible(reader: Schema, writer: Schema) -> bool:
    """Whether a reader with schema ``reader`` can read everything written with ``writer``."""
    result = _checker().get_compatibility(reader, writer)
    return result.compatibility is SchemaCompatibilityType.compatible


def explain(reader: Schema, writer: Schema) -> list[str]:
    """One human-readable reason per problem; empty when the reader can read the writer."""
    try:
        result = _checker().get_compatibility(reader, writer)
    except AvroException as exc:  # a construct the checker does not know: not the client's fault
        raise InvalidSchema(f"Invalid schema: its compatibility cannot be checked ({exc}).") from None
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    reasons = _Explainer().walk(reader, writer, ())
    if reasons:
        return reasons
    where = ", ".join(sorted(result.locations))
    return [f"at {where}: {'; '.join(sorted(result.messages))}"]


@lru_cache(maxsize=512)
def _prepared(parsed: ParsedSchema) -> Schema:
    """A fresh parse of ``parsed`` with qualified aliases, only ever used for checking."""
    schema = parse_schema(parsed.canonical, parsed.references, parsed.dependencies).avro
    assert schema is not None
    _qualify_aliases(schema, set())
    return schema


def _qualify_aliases(schema: Schema, seen: set[int]) -> None:
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if isinstance(schema, NamedSchema):
        aliases = schema.props.get("aliases")
        namespace = schema.fullname.rpartition(".")[0]
        if isinstance(aliases, list) and namespace:
            qualified = [a if "." in a else f"{namespace}.{a}" for a in aliases if isinstance(a, str)]
            schema.props["aliases"] = list(dict.fromkeys([*aliases, *qualified]))
    for child in _children(schema):
        _qualify_aliases(child, seen)


def _children(schema: Schema) -> list[Schema]:
    if isinstance(schema, RecordSchema):
        return [f.type for f in schema.fields]
    if isinstance(schema, ArraySchema):
        return [schema.items]
    if isinstance(schema, MapSchema):
        return [schema.values]
    if isinstance(schema, UnionSchema):
        return list(schema.schemas)
    return []


def _checker() -> ReaderWriterCompatibilityChecker:
    return ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]


def describe(schema: Schema) -> str:
    """A short description of a schema for messages: ``long``, ``record a.B``, ``array<int>``."""
    if isinstance(schema, NamedSchema):
        return f"{schema.type} {schema.fullname}"
    if isinstance(schema, ArraySchema):
        return f"array<{describe(schema.items)}>"
    if isinstance(schema, MapSchema):
        return f"map<{describe(schema.values)}>"
    if isinstance(schema, UnionSchema):
        return "union [" + ", ".join(describe(s) for s in schema.schemas) + "]"
    logical = schema.props.get("logicalType")
    return f"{schema.type} ({logical})" if logical else str(schema.type)


def _where(path: Path) -> str:
    return "at /" + "/".join(path)


class _Explainer:
    """Walks a reader and a writer schema together, asking the checker about each part."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()

    def walk(self, reader: Schema, writer: Schema, path: Path) -> list[str]:
        key = (id(reader), id(writer))
        if key in self._seen or is_compatible(reader, writer):
            return []
        self._seen.add(key)
        if isinstance(writer, UnionSchema):
            return self._writer_union(reader, writer, path)
        if isinstance(reader, UnionSchema):
            return self._reader_union(reader, writer, path)
        if isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
            return self._records(reader, writer, path)
        if isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
            return self.walk(reader.items, writer.items, (*path, "items"))
        if isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
            return self.walk(reader.values, writer.values, (*path, "values"))
        return _leaf(reader, writer, path)

    def _records(self, reader: RecordSchema, writer: RecordSchema, path: Path) -> list[str]:
        reasons = []
        if not schema_name_equals(reader, writer):
            reasons.append(_renamed(reader, writer, path))
        for field in reader.fields:
            field_path = (*path, "fields", field.name)
            written = lookup_writer_field(writer_schema=writer, reader_field=field)
            if written is not None:
                reasons += self.walk(field.type, written.type, (*field_path, "type"))
            elif not field.has_default:
                reasons.append(
                    f"{_where(field_path)}: the reader's field '{field.name}' is missing from the "
                    f"writer's record {writer.fullname} and has no default; give it a default value"
                )
        return reasons

    def _writer_union(self, reader: Schema, writer: UnionSchema, path: Path) -> list[str]:
        reasons = []
        for index, branch in enumerate(writer.schemas):
            if isinstance(reader, UnionSchema):
                reasons += self._reader_union(reader, branch, (*path, str(index)))
            else:
                reasons += self.walk(reader, branch, (*path, str(index)))
        return reasons

    def _reader_union(self, reader: UnionSchema, writer: Schema, path: Path) -> list[str]:
        if is_compatible(reader, writer):
            return []
        similar = _similar_branch(reader, writer)
        if similar is not None:
            return self.walk(similar, writer, path)
        return [
            f"{_where(path)}: the reader's {describe(reader)} has no branch that can read "
            f"the writer's {describe(writer)}"
        ]


def _similar_branch(reader: UnionSchema, writer: Schema) -> Schema | None:
    """The reader branch meant to read ``writer`` (same named type, or same kind)."""
    branch: Schema
    for branch in reader.schemas:
        if branch.type != writer.type:
            continue
        if not isinstance(writer, NamedSchema):
            return branch
        if isinstance(branch, NamedSchema) and schema_name_equals(branch, writer):
            return branch
    return None


def _renamed(reader: NamedSchema, writer: NamedSchema, path: Path) -> str:
    return (
        f"{_where((*path, 'name'))}: the reader's {reader.type} is named {reader.fullname} but the "
        f"data was written as {writer.fullname}; keep the name or add \"{writer.fullname}\" to aliases"
    )


def _leaf(reader: Schema, writer: Schema, path: Path) -> list[str]:
    result = _checker().get_compatibility(reader, writer)
    reasons = []
    for kind in dict.fromkeys(result.incompatibilities):
        if kind is SchemaIncompatibilityType.name_mismatch:
            assert isinstance(reader, NamedSchema) and isinstance(writer, NamedSchema)
            reasons.append(_renamed(reader, writer, path))
        elif kind is SchemaIncompatibilityType.fixed_size_mismatch:
            assert isinstance(reader, FixedSchema) and isinstance(writer, FixedSchema)
            reasons.append(
                f"{_where((*path, 'size'))}: fixed {reader.fullname} has size {reader.size} "
                f"but the data was written with size {writer.size}"
            )
        elif kind is SchemaIncompatibilityType.missing_enum_symbols:
            assert isinstance(reader, EnumSchema) and isinstance(writer, EnumSchema)
            missing = sorted(set(writer.symbols) - set(reader.symbols))
            reasons.append(
                f"{_where((*path, 'symbols'))}: the reader's enum {reader.fullname} lacks the "
                f"writer's symbols {missing} and has no default symbol to use instead"
            )
        else:
            reasons.append(
                f"{_where(path)}: the reader's {describe(reader)} cannot read the writer's "
                f"{describe(writer)} (Avro only promotes int to long, float or double; long to "
                "float or double; float to double; and string to/from bytes)"
            )
    return reasons
