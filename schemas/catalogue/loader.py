"""Load and check the catalogue: ``items/<item>.avsc`` + ``items/<item>.json`` per data item.

:func:`load_catalogue` reads the catalogue shipped as package data, or a directory laid out the
same way: the one it is given, else the one ``GOVBUS_CATALOGUE_DIR`` names (so every component of
a deployment, the normaliser, the connectors and the ACL reconciler included, runs on that
catalogue), checks every file and caches the result per directory. Nothing half-valid is returned:
the first bad file raises :class:`govbus.exceptions.CatalogueError` naming the file and the
problem. Checked at load:

- the metadata against :class:`~schemas.catalogue.metadata.ItemMetadata` (pydantic);
- the file stem equals the ``item`` name, and each ``.json`` has its ``.avsc`` and vice versa;
- the schema parses with fastavro, field defaults match their types (a union's default its
  first branch, as Avro requires), it is a record named after the item (``enterprise_registration``
  -> ``EnterpriseRegistration``) in the department's namespace (``gov.govbus.market_regulation``),
  and every field, nested ones included, has a ``doc``;
- key fields exist and are non-null ``string``/``int``/``long``; identifier fields exist and are
  strings (nullable allowed);
- every field path, nested ones included, is classified exactly once in ``personal_fields`` or
  ``not_personal_fields``, which name no other path, and no person's identifier is called not
  personal (:func:`schemas.catalogue.classification.check_classification`);
- the item has a pydantic model (:data:`schemas.catalogue.models.MODELS`) and its change-event
  envelope parses with fastavro; an item whose metadata names another item in ``model`` (a copy of
  that item's schema under its own name) shares that item's model, and its schema and identifier
  fields must agree with it (:mod:`schemas.catalogue.agreement`);
- catalogue codes are unique.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import fastavro
import pydantic
from fastavro.schema import SchemaParseException, UnknownType
from fastavro.validation import validate as validate_datum
from pydantic import Field

from govbus.envelope import envelope_schema
from govbus.exceptions import CatalogueError
from govbus.settings import GovbusSettings
from schemas.catalogue.agreement import identifier_mismatches, model_mismatches
from schemas.catalogue.classification import check_classification
from schemas.catalogue.metadata import ItemMetadata
from schemas.catalogue.model import Catalogue, DataItem
from schemas.catalogue.models import MODELS
from schemas.catalogue.models.base import CatalogueRecord

ITEMS_DIRECTORY = "items"
CATALOGUE_DIR_VARIABLE = "GOVBUS_CATALOGUE_DIR"
"""The variable of :attr:`CatalogueSettings.catalogue_dir`, read by :func:`load_catalogue` on each call (a
plain lookup: it is called on hot paths, where building the settings model would cost 0.2 ms)."""
_KEY_TYPES = ("string", "int", "long")


class CatalogueSettings(GovbusSettings):
    """Where the catalogue is read from (env ``GOVBUS_CATALOGUE_DIR``; default: the packaged one)."""

    catalogue_dir: Path | None = Field(default=None, description="directory of item definitions to load "
                                       "instead of the built-in catalogue (schemas/catalogue/items)")


def packaged_items() -> Traversable:
    """The ``items`` directory shipped inside the ``schemas.catalogue`` package."""
    return resources.files("schemas.catalogue").joinpath(ITEMS_DIRECTORY)


def load_catalogue(directory: Path | str | None = None) -> Catalogue:
    """The catalogue in ``directory`` (default: ``GOVBUS_CATALOGUE_DIR`` when set, else the packaged one), checked;
    cached per directory."""
    chosen = directory if directory is not None else os.environ.get(CATALOGUE_DIR_VARIABLE) or None
    key = None if chosen is None else str(Path(chosen).resolve())
    return _load_cached(key)


@functools.cache
def _load_cached(directory: str | None) -> Catalogue:
    root: Traversable = packaged_items() if directory is None else Path(directory)
    if not root.is_dir():
        raise CatalogueError(f"{root}: not a catalogue directory (expected <item>.avsc and <item>.json files)")
    return read_catalogue(root)


def read_catalogue(root: Traversable) -> Catalogue:
    """Read and check every item in ``root`` (not cached)."""
    entries = {entry.name: entry for entry in root.iterdir() if entry.is_file()}
    stems = {name[: -len(".json")] for name in entries if name.endswith(".json")}
    for orphan in sorted(n for n in entries if n.endswith(".avsc") and n[: -len(".avsc")] not in stems):
        raise CatalogueError(f"{root / orphan}: schema without metadata; add {orphan[:-5]}.json beside it")
    if not stems:
        raise CatalogueError(f"{root}: no data items (no <item>.json files)")
    items = [load_item(entries[f"{stem}.json"], entries.get(f"{stem}.avsc")) for stem in sorted(stems)]
    _check_unique_codes(items)
    return Catalogue(items)


def load_item(metadata_file: Traversable, schema_file: Traversable | None) -> DataItem:
    """One item from its metadata and schema files, checked."""
    metadata = _read_metadata(metadata_file)
    stem = metadata_file.name[: -len(".json")]
    if metadata.item != stem:
        raise CatalogueError(f"{metadata_file}: item is {metadata.item!r} but the file is named {stem}.json; "
                             "name the file after the item")
    if schema_file is None:
        raise CatalogueError(f"{metadata_file}: no schema {stem}.avsc beside it")
    schema = _read_schema(schema_file)
    _check_schema_shape(schema, metadata, schema_file)
    _check_metadata_against_schema(schema, metadata, metadata_file)
    check_classification(schema, metadata, metadata_file)
    _parse(envelope_schema(schema, f"{schema['name']}Event"), schema_file, "its change-event envelope")
    model = _model_of(metadata, metadata_file)
    item = DataItem(metadata=metadata, schema=schema, model=model, source=str(metadata_file))
    if metadata.model is not None:
        _check_shared_model(item, metadata_file)
    return item


def _model_of(metadata: ItemMetadata, file: Traversable) -> type[CatalogueRecord]:
    """The item's own model, or the one of the item its metadata names in ``model``."""
    shape = metadata.model or metadata.item
    model = MODELS.get(shape)
    if model is not None:
        return model
    if metadata.model is not None:
        raise CatalogueError(f"{file}: model names {metadata.model!r}, which has no pydantic model; name one of "
                             f"{', '.join(sorted(MODELS))}, or remove model and add a model of its own")
    raise CatalogueError(f"{file}: no pydantic model for {metadata.item!r}; add one to schemas/catalogue/models and "
                         "to MODELS (or, for a copy of another item's schema, name that item in model)")


def _check_shared_model(item: DataItem, file: Traversable) -> None:
    """A shared model validates this item's records only if the copied schema and identifiers still agree with it."""
    problems = [*model_mismatches(item.record_schema, item.model), *identifier_mismatches(item)]
    if problems:
        raise CatalogueError(f"{file}: the schema does not agree with the model of {item.metadata.model!r} it "
                             f"shares: {'; '.join(problems)}; copy that item's schema again, or give it a model "
                             "of its own")


def _read_json(file: Traversable) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{file}: not valid JSON: {error}") from None


def _read_metadata(file: Traversable) -> ItemMetadata:
    raw = _read_json(file)
    try:
        return ItemMetadata.model_validate(raw)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'metadata'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        raise CatalogueError(f"{file}: invalid metadata: {problems}") from None


def _read_schema(file: Traversable) -> dict[str, Any]:
    schema = _read_json(file)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise CatalogueError(f"{file}: the schema of a data item must be an Avro record")
    _parse(schema, file, "the schema")
    bad_defaults = sorted(_bad_defaults(fastavro.schema.expand_schema(schema), ""))
    if bad_defaults:
        raise CatalogueError(f"{file}: defaults that do not match their type (for a union, its first branch): "
                             f"{', '.join(bad_defaults)}")
    return schema


def _bad_defaults(schema: Any, path: str) -> Iterator[str]:
    """Fields whose default does not match the field's type (a union's first branch), nested ones too."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _bad_defaults(branch, path)
    elif isinstance(schema, dict) and schema.get("type") == "array":
        yield from _bad_defaults(schema["items"], path)
    elif isinstance(schema, dict) and schema.get("type") == "record":
        for field in schema["fields"]:
            field_path = f"{path}{field['name']}"
            if "default" in field:
                target = field["type"][0] if isinstance(field["type"], list) else field["type"]
                if not validate_datum(field["default"], target, raise_errors=False):
                    yield f"{field_path} = {json.dumps(field['default'], ensure_ascii=False)}"
            yield from _bad_defaults(field["type"], field_path + ".")


def _parse(schema: dict[str, Any], file: Traversable, what: str) -> None:
    try:
        fastavro.parse_schema(schema)
    except (SchemaParseException, UnknownType, KeyError, TypeError, ValueError) as error:
        raise CatalogueError(f"{file}: {what} is not valid Avro: {error}") from None


def pascal_case(item: str) -> str:
    """``enterprise_registration`` -> ``EnterpriseRegistration``."""
    return "".join(part.capitalize() for part in item.split("_"))


def department_namespace(department: str) -> str:
    """``market-regulation`` -> ``gov.govbus.market_regulation``."""
    return "gov.govbus." + department.replace("-", "_")


def _check_schema_shape(schema: dict[str, Any], metadata: ItemMetadata, file: Traversable) -> None:
    if schema["name"] != pascal_case(metadata.item):
        raise CatalogueError(f"{file}: record name is {schema['name']!r}, expected {pascal_case(metadata.item)!r}")
    namespace = department_namespace(metadata.department.value)
    if schema.get("namespace") != namespace:
        raise CatalogueError(f"{file}: namespace is {schema.get('namespace')!r}, expected {namespace!r} "
                             f"(the owning department {metadata.department.value})")
    undocumented = sorted(_undocumented_fields(schema, ""))
    if undocumented:
        raise CatalogueError(f"{file}: fields without a doc: {', '.join(undocumented)}")


def _undocumented_fields(schema: Any, path: str) -> Iterator[str]:
    """Dotted paths of record fields lacking a non-empty ``doc``, nested records included."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _undocumented_fields(branch, path)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            for field in schema.get("fields", []):
                field_path = f"{path}{field['name']}"
                if not str(field.get("doc", "")).strip():
                    yield field_path
                yield from _undocumented_fields(field["type"], field_path + ".")
        elif schema.get("type") == "array":
            yield from _undocumented_fields(schema["items"], path)
        elif schema.get("type") == "map":
            yield from _undocumented_fields(schema["values"], path)


def _check_metadata_against_schema(schema: dict[str, Any], metadata: ItemMetadata, file: Traversable) -> None:
    fields = {field["name"]: field["type"] for field in schema["fields"]}
    groups = {"key_fields": list(metadata.key_fields), "identifier_fields": list(metadata.identifier_fields)}
    for group, names in groups.items():
        missing = [name for name in names if name not in fields]
        if missing:
            raise CatalogueError(f"{file}: {group} names fields the schema does not have: {', '.join(missing)} "
                                 f"(schema fields: {', '.join(fields)})")
    for name in metadata.key_fields:
        if fields[name] not in _KEY_TYPES:
            raise CatalogueError(f"{file}: key field {name!r} must be a non-null string, int or long in the schema, "
                                 f"not {json.dumps(fields[name])}")
    for name in metadata.identifier_fields:
        if fields[name] not in ("string", ["null", "string"]):
            raise CatalogueError(f"{file}: identifier field {name!r} must be a string (or null + string) "
                                 f"in the schema, not {json.dumps(fields[name])}")


def _check_unique_codes(items: list[DataItem]) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item.code in seen:
            raise CatalogueError(f"{item.source}: catalogue code {item.code} is also used by {seen[item.code]!r}")
        seen[item.code] = item.name
