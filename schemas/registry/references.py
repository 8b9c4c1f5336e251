"""Resolving schema references to the schemas they name, dependencies first."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.registry.canonical import ParsedSchema, Reference, parse_schema
from schemas.registry.errors import InvalidSchema
from schemas.registry.inputs import SchemaRequest
from schemas.registry.state import RegistryState, Version

_MAX_DEPTH = 32


def resolve(state: RegistryState, references: Sequence[Reference]) -> tuple[str, ...]:
    """Canonical texts of every schema ``references`` need (transitively), dependencies first.

    Raises :class:`InvalidSchema` (42201) naming the reference that does not exist.
    """
    found: list[str] = []
    seen: set[tuple[str, int]] = set()
    for reference in references:
        _visit(state, reference, found, seen, depth=0)
    return tuple(found)


def _visit(
    state: RegistryState, reference: Reference, found: list[str], seen: set[tuple[str, int]], depth: int
) -> None:
    if depth > _MAX_DEPTH:
        raise InvalidSchema(f"Invalid schema: references are nested more than {_MAX_DEPTH} deep (a cycle?).")
    key = (reference.subject, reference.version)
    if key in seen:
        return
    version = state.version(reference.subject, reference.version)
    if version is None:
        raise InvalidSchema(
            f"Invalid schema: reference '{reference.name}' names subject '{reference.subject}' "
            f"version {reference.version}, which does not exist; register it first."
        )
    seen.add(key)
    for inner in version.references:
        _visit(state, inner, found, seen, depth + 1)
    found.append(version.schema)


def parse_request(state: RegistryState, request: SchemaRequest) -> ParsedSchema:
    """Parse a requested schema, resolving its references against ``state`` (42201 if invalid)."""
    return parse_schema(request.schema, request.references, resolve(state, request.references))


def parsed_version(state: RegistryState, version: Version) -> ParsedSchema:
    """A stored version as a :class:`ParsedSchema` (its text is already canonical)."""
    return ParsedSchema(version.schema, version.references, resolve(state, version.references))
