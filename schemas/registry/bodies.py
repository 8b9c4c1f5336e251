"""The registry's request and answer bodies as pydantic models, named as Confluent's API names them.

The OpenAPI document (:mod:`schemas.registry.openapi`) describes every route's bodies with these models.
The handlers parse requests with :mod:`schemas.registry.inputs` (which answers Confluent's error codes, where
a pydantic validation error could not), and error bodies are made with :class:`ErrorMessage`; the live test
(``tests/integration/registry/test_registry_openapi_live.py``) checks every answer against the document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.modes import Mode

MAX_INT32 = 2**31 - 1


class Body(BaseModel):
    """A body whose every field with a default is still always sent (required in the answers' schemas)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True, populate_by_name=True)


class SchemaReference(Body):
    """Another subject's version this schema refers to by ``name`` (a named Avro type)."""

    name: str
    subject: str
    version: int = Field(ge=1, le=MAX_INT32)


class RegisterSchemaRequest(BaseModel):
    """A schema to register, look up or test (only Avro); other fields Confluent defines (``metadata``,
    ``ruleSet``) are refused when set, an explicit ``id`` (IMPORT mode) too."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", min_length=1, description="the Avro schema as JSON text")
    schemaType: str = Field(default="AVRO", pattern="^[Aa][Vv][Rr][Oo]$", description="AVRO (the default) only")
    references: list[SchemaReference] = Field(default_factory=list)


class RegisterSchemaResponse(Body):
    """The schema's id (the same schema has the same id under every subject), its subject and version."""

    id: int
    subject: str
    version: int


class SubjectSchema(BaseModel):
    """One version of a subject."""

    subject: str
    version: int
    id: int
    schema_: str = Field(alias="schema", description="the schema in its canonical form, as JSON text")
    references: list[SchemaReference] | None = Field(default=None, description="sent when it has references")


class SchemaString(BaseModel):
    """A schema by id."""

    schema_: str = Field(alias="schema", description="the schema in its canonical form, as JSON text")
    references: list[SchemaReference] | None = Field(default=None, description="sent when it has references")


class SubjectVersion(Body):
    """A subject and version holding a schema id."""

    subject: str
    version: int


class CompatibilityCheckResponse(BaseModel):
    """Whether the schema could be registered under the subject; ``messages`` (with ``verbose=true``) says why not."""

    is_compatible: bool
    messages: list[str] | None = Field(default=None, description="with verbose=true: one reason per problem")


class Config(Body):
    """A compatibility level."""

    compatibilityLevel: CompatibilityLevel


class ConfigUpdateRequest(BaseModel):
    """The level to set (case-insensitive): ``compatibility``, or ``compatibilityLevel`` when that is absent."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["compatibility"]},
                                                          {"required": ["compatibilityLevel"]}]})

    compatibility: CompatibilityLevel | SkipJsonSchema[None] = None
    compatibilityLevel: CompatibilityLevel | SkipJsonSchema[None] = None


class ConfigUpdated(Body):
    """The level now set."""

    compatibility: CompatibilityLevel


class ModeSetting(Body):
    """A mode (case-insensitive when set): READWRITE accepts writes, READONLY and READONLY_OVERRIDE refuse them
    (42205)."""

    mode: Mode


class ErrorMessage(Body):
    """Every error: Confluent's ``error_code`` (the HTTP status, or a five-digit code refining it) and a message
    that says what to do."""

    error_code: int
    message: str


class Empty(Body):
    """An empty JSON object."""


class Subjects(RootModel[list[str]]):
    """Subject names."""


class Versions(RootModel[list[int]]):
    """Version numbers."""


class SchemaIds(RootModel[list[int]]):
    """Schema ids."""


class SubjectVersions(RootModel[list[SubjectVersion]]):
    """The subject versions holding a schema id."""


class Names(RootModel[list[str]]):
    """Names (schema types, contexts)."""


class Version(RootModel[int]):
    """A version number."""


class RawSchema(RootModel[Any]):
    """The schema itself, as JSON (not as a string)."""
