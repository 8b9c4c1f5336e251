"""Does a pydantic model agree with its Avro schema, field by field?

:func:`model_mismatches` compares, recursively through nested records and arrays:

- field names and their order;
- nullability (Avro ``["null", T]`` <-> ``T | None``) and defaults (an Avro default <-> the same
  model default; no Avro default <-> a required model field);
- types: ``string`` <-> ``str``, ``int``/``long`` <-> ``int``, ``boolean`` <-> ``bool``,
  ``float``/``double`` <-> ``float``, ``bytes`` <-> ``bytes``, ``int``/``date`` <-> ``date``,
  ``long``/``timestamp-millis`` <-> ``datetime``, enums <-> ``Enum`` subclasses with the same
  symbols in the same order, arrays <-> ``list[...]``, records <-> ``BaseModel`` subclasses;
- every model field has a description.

:func:`identifier_mismatches` compares the ``identifier_fields`` of an item's metadata with the
:class:`~schemas.catalogue.types.Identifier` markers on its model's fields.
Each returns one sentence per disagreement; empty means they agree.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

import fastavro.schema
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from schemas.catalogue.model import DataItem
from schemas.catalogue.types import Identifier

_PRIMITIVES: dict[str, type] = {
    "string": str, "int": int, "long": int, "boolean": bool, "float": float, "double": float, "bytes": bytes,
}
_LOGICAL: dict[tuple[str, str], type] = {
    ("int", "date"): dt.date,
    ("long", "timestamp-millis"): dt.datetime,
    ("long", "timestamp-micros"): dt.datetime,
}


def model_mismatches(schema: dict[str, Any], model: type[BaseModel]) -> list[str]:
    """Where ``model`` disagrees with the Avro record ``schema``; empty if they agree."""
    expanded = fastavro.schema.expand_schema(schema)
    if not isinstance(expanded, dict):
        return ["the schema is not an Avro record"]
    return list(_record_mismatches(expanded, model, ""))


def identifier_mismatches(item: DataItem) -> list[str]:
    """Where the item's ``identifier_fields`` disagree with its model's identifier markers."""
    marked = {name: marker.kind for name, info in item.model.model_fields.items()
              for marker in _markers(info.annotation, info.metadata)}
    declared = item.identifier_fields
    problems = [f"{name}: metadata says {kind.value} but the model field has no {kind.value} type"
                for name, kind in declared.items() if marked.get(name) != kind]
    problems += [f"{name}: the model checks it as {kind.value} but the metadata does not list it"
                 for name, kind in marked.items() if name not in declared]
    return problems


def _markers(annotation: Any, metadata: list[Any]) -> Iterator[Identifier]:
    yield from (m for m in metadata if isinstance(m, Identifier))
    for argument in typing.get_args(annotation):
        if typing.get_origin(argument) is typing.Annotated:
            yield from (m for m in argument.__metadata__ if isinstance(m, Identifier))


def _record_mismatches(schema: dict[str, Any], model: type[BaseModel], path: str) -> Iterator[str]:
    avro_names = [field["name"] for field in schema["fields"]]
    model_names = list(model.model_fields)
    for name in avro_names:
        if name not in model.model_fields:
            yield f"{path}{name}: in the Avro schema but not in {model.__name__}"
    for name in model_names:
        if name not in avro_names:
            yield f"{path}{name}: in {model.__name__} but not in the Avro schema"
    common_avro = [n for n in avro_names if n in model.model_fields]
    common_model = [n for n in model_names if n in avro_names]
    if common_avro != common_model:
        yield f"{path}: field order differs: Avro {common_avro}, {model.__name__} {common_model}"
    for field in schema["fields"]:
        info = model.model_fields.get(field["name"])
        if info is not None:
            yield from _field_mismatches(field, info, f"{path}{field['name']}")


def _field_mismatches(field: dict[str, Any], info: FieldInfo, path: str) -> Iterator[str]:
    if not (info.description or "").strip():
        yield f"{path}: the model field has no description"
    avro_type, avro_nullable = _split_null(field["type"])
    annotation, model_nullable = _split_optional(info.annotation)
    if avro_nullable != model_nullable:
        yield f"{path}: Avro {'allows' if avro_nullable else 'forbids'} null but the model " \
              f"{'allows' if model_nullable else 'forbids'} None"
    yield from _default_mismatches(field, info, path)
    yield from _type_mismatches(avro_type, annotation, path)


def _default_mismatches(field: dict[str, Any], info: FieldInfo, path: str) -> Iterator[str]:
    model_default = info.get_default(call_default_factory=True)
    model_has_default = model_default is not PydanticUndefined
    if "default" not in field:
        if model_has_default:
            yield f"{path}: the model has a default ({model_default!r}) but the Avro field has none"
        return
    if not model_has_default:
        yield f"{path}: the Avro field defaults to {field['default']!r} but the model field is required"
    elif model_default != field["default"]:
        yield f"{path}: defaults differ: Avro {field['default']!r}, model {model_default!r}"


def _split_null(avro_type: Any) -> tuple[Any, bool]:
    if isinstance(avro_type, list):
        others = [branch for branch in avro_type if branch != "null"]
        if len(others) == 1:
            return others[0], len(others) < len(avro_type)
        return others, len(others) < len(avro_type)
    return avro_type, False


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        others = [a for a in typing.get_args(annotation) if a is not type(None)]
        single = _unannotated(others[0]) if len(others) == 1 else typing.Union[tuple(others)]  # noqa: UP007
        return single, len(others) < len(typing.get_args(annotation))
    return _unannotated(annotation), False


def _unannotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _type_mismatches(avro_type: Any, annotation: Any, path: str) -> Iterator[str]:
    if isinstance(avro_type, list):
        yield f"{path}: unions other than null + one type are not supported by the agreement check"
        return
    if isinstance(avro_type, str):
        expected = _PRIMITIVES.get(avro_type)
        if annotation is not expected:
            yield f"{path}: Avro {avro_type} needs {_name(expected)}, the model has {_name(annotation)}"
        return
    kind = avro_type["type"]
    logical = avro_type.get("logicalType")
    if logical:
        expected = _LOGICAL.get((kind, logical))
        if annotation is not expected:
            yield f"{path}: Avro {kind}/{logical} needs {_name(expected)}, the model has {_name(annotation)}"
    elif kind == "enum":
        yield from _enum_mismatches(avro_type, annotation, path)
    elif kind in ("array", "record"):
        yield from _complex_mismatches(avro_type, annotation, path)
    else:
        yield from _type_mismatches(kind, annotation, path)


def _complex_mismatches(avro_type: dict[str, Any], annotation: Any, path: str) -> Iterator[str]:
    if avro_type["type"] == "array":
        if typing.get_origin(annotation) is not list:
            yield f"{path}: Avro array needs list[...], the model has {_name(annotation)}"
        else:
            yield from _type_mismatches(avro_type["items"], _unannotated(typing.get_args(annotation)[0]), f"{path}[]")
    elif not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        yield f"{path}: Avro record {avro_type['name']} needs a model class, the model has {_name(annotation)}"
    else:
        yield from _record_mismatches(avro_type, annotation, f"{path}.")


def _enum_mismatches(avro_type: dict[str, Any], annotation: Any, path: str) -> Iterator[str]:
    if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
        yield f"{path}: Avro enum {avro_type['name']} needs an Enum, the model has {_name(annotation)}"
        return
    values = [member.value for member in annotation]
    if values != avro_type["symbols"]:
        yield f"{path}: enum symbols differ: Avro {avro_type['symbols']}, {annotation.__name__} {values}"


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", repr(annotation))
