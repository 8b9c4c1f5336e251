"""The registry's OpenAPI description: what each handler takes and answers (attached to the handlers in
:mod:`schemas.registry.routes` with :func:`govbus.openapi.operation`), HTTP Basic security and the document's
info. The document itself is made from the app's routes (:func:`govbus.openapi.document`)."""

from __future__ import annotations

from pydantic import BaseModel

from govbus import __version__
from govbus.openapi import PROMETHEUS_OPERATION, ApiInfo, Content, Operation, Param, Reply
from schemas.registry import bodies

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
REQUEST_TYPES = (CONTENT_TYPE, "application/json")
POSITION_HEADER = "X-Govbus-Log-Position"
EXAMPLE_SCHEMA = ('{"type": "record", "name": "Person", "namespace": "gov.people", "fields": '
                  '[{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}')


def answer(description: str, model: type[BaseModel], write: bool = False) -> Reply:
    """A 200 (or error) answer in the registry's content type; a write's carries the log position."""
    headers = {POSITION_HEADER: "the registry log's offset after the write (a follower waits to have read it "
               "before it relays the answer, so the client reads its own write)"} if write else {}
    return Reply(description, (Content(CONTENT_TYPE, model),), headers)


def failure(description: str) -> Reply:
    return answer(description, bodies.ErrorMessage)


def request(model: type[BaseModel], example: object = None) -> tuple[Content, ...]:
    return tuple(Content(media_type, model, example=example) for media_type in REQUEST_TYPES)


SUBJECT = Param("subject", "path", "the subject (TopicNameStrategy: <topic>-value or <topic>-key)",
                {"type": "string", "minLength": 1}, example="gov.people-value")
VERSION = Param("version", "path", "a version number, or latest (also -1)",
                {"anyOf": [{"type": "integer", "minimum": 1, "maximum": bodies.MAX_INT32},
                           {"type": "string", "enum": ["latest"]}]}, example="latest")
SCHEMA_ID = Param("id", "path", "a schema id", {"type": "integer", "minimum": 1, "maximum": bodies.MAX_INT32},
                  example=1)


def flag(name: str, description: str) -> Param:
    return Param(name, "query", description, {"type": "boolean"})


DELETED = flag("deleted", "include soft-deleted versions")
DELETED_ONLY = flag("deleted_only", "only soft-deleted ones")
PERMANENT = flag("permanent", "delete permanently (what was soft-deleted before)")
DEFAULT_TO_GLOBAL = flag("defaultToGlobal", "the global setting when the subject has none of its own")
VERBOSE = flag("verbose", "say why not compatible, in messages")
PAGING = (Param("offset", "query", "skip this many", {"type": "integer", "minimum": 0}),
          Param("limit", "query", "at most this many (-1: all)", {"type": "integer", "minimum": -1}))

BAD_BODY = failure("400: the body is not a JSON object")
TOO_LARGE = failure("413: the body is larger than 4 MiB")
FORBIDDEN = failure("40301: the principal may not do that (register a subject it does not own; config, mode and "
                    "deletes are for operators)")
INVALID_SCHEMA = failure("42201: invalid schema (bad JSON or Avro, a bad default, not AVRO, an unknown reference)")
INVALID_VERSION = failure("42202: invalid version (not a number in [1, 2^31-1], latest or -1)")
SUBJECT_NOT_FOUND = failure("40401: subject not found")
VERSION_NOT_FOUND = failure("40401 subject not found, 40402 version not found")
SCHEMA_NOT_FOUND = failure("40403: schema not found")
WRITE_REFUSED = failure("42205 operation not permitted (READONLY mode), 42206 other schemas reference the version")

INFO = ApiInfo(
    title="govbus schema registry",
    version=__version__,
    description="The Confluent Schema Registry REST API for Avro schemas, stored in a compacted Kafka topic: "
    "Confluent's clients (and other registry clients) work against it unchanged. Every error is "
    "`{error_code, message}` with Confluent's codes. With GOVBUS_REGISTRY_CREDENTIALS_FILE set, every route but "
    "`GET /`, `GET /metrics` and `GET /openapi.json` needs HTTP Basic credentials of a platform principal; every "
    "route also answers with a trailing slash.",
    security_schemes={"basic": {"type": "http", "scheme": "basic", "description": "a principal of the platform's "
                                "credentials file (Confluent clients: basic.auth.user.info=<user>:<password>)"}},
    security=({"basic": ()},),
    unauthorised=Reply("40101: no, malformed or wrong credentials (with authentication on)",
                       (Content(CONTENT_TYPE, bodies.ErrorMessage),),
                       {"WWW-Authenticate": 'Basic realm="govbus-registry"'}),
    common={500: failure("50001 Kafka refused the write, 50002 it was not acknowledged in time, 50003 the primary "
                         "could not be reached, 50004 no primary is known, 50000 an unexpected failure")},
    tags=(("subjects", "schemas registered under subjects, and their versions"),
          ("schemas", "schemas by id"), ("compatibility", "testing a schema against a subject's versions"),
          ("config", "compatibility levels"), ("mode", "whether schemas may be written"),
          ("operations", "liveness, metrics and this document")),
)

ROOT = Operation("Liveness: an empty object", {200: answer("the registry answers", bodies.Empty)},
                 public=True, tags=("operations",))
METRICS = PROMETHEUS_OPERATION

LIST_SUBJECTS = Operation(
    "Subject names", {200: answer("the subjects", bodies.Subjects)},
    params=(DELETED, DELETED_ONLY, Param("subjectPrefix", "query", "only subjects starting so"), *PAGING),
    tags=("subjects",))
LOOKUP = Operation(
    "Which version of the subject holds this schema",
    {200: answer("the version", bodies.SubjectSchema), 400: BAD_BODY,
     404: failure("40401 subject not found, 40403 the schema is not under the subject"), 413: TOO_LARGE,
     422: INVALID_SCHEMA},
    params=(SUBJECT, DELETED), body=request(bodies.RegisterSchemaRequest, {"schema": EXAMPLE_SCHEMA}),
    tags=("subjects",))
DELETE_SUBJECT = Operation(
    "Soft-delete every version of a subject, or (permanent=true) delete a soft-deleted subject",
    {200: answer("the versions deleted", bodies.Versions, write=True), 403: FORBIDDEN,
     404: failure("40401 subject not found, 40404 already soft-deleted, 40405 not soft-deleted before a permanent "
                  "delete"), 422: WRITE_REFUSED},
    params=(SUBJECT, PERMANENT), tags=("subjects",))
LIST_VERSIONS = Operation(
    "Version numbers of a subject", {200: answer("the versions", bodies.Versions), 404: SUBJECT_NOT_FOUND},
    params=(SUBJECT, DELETED, DELETED_ONLY, *PAGING), tags=("subjects",))
REGISTER = Operation(
    "Register a schema under a subject",
    {200: answer("registered (or already there: the same id and version)", bodies.RegisterSchemaResponse,
                 write=True),
     400: BAD_BODY, 403: FORBIDDEN, 409: failure("409: incompatible with the subject's versions (the reasons)"),
     413: TOO_LARGE,
     422: failure("42201 invalid schema, 42205 not permitted (READONLY mode, an explicit id), 42209 too large for a "
                  "Kafka record")},
    description="The same schema gets the same id under every subject; registering it again answers the existing "
    "id and version.",
    params=(SUBJECT,), body=request(bodies.RegisterSchemaRequest, {"schema": EXAMPLE_SCHEMA}), tags=("subjects",))
GET_VERSION = Operation(
    "One version of a subject",
    {200: answer("the version", bodies.SubjectSchema), 404: VERSION_NOT_FOUND, 422: INVALID_VERSION},
    params=(SUBJECT, VERSION, DELETED), tags=("subjects",))
DELETE_VERSION = Operation(
    "Soft-delete a version, or (permanent=true) delete a soft-deleted one",
    {200: answer("the version deleted", bodies.Version, write=True), 403: FORBIDDEN,
     404: failure("40401 subject not found, 40402 version not found, 40406 already soft-deleted, 40407 not "
                  "soft-deleted before a permanent delete"),
     422: failure("42202 invalid version, 42205 not permitted (READONLY mode), 42206 referenced by other schemas")},
    params=(SUBJECT, VERSION, PERMANENT), tags=("subjects",))
GET_VERSION_SCHEMA = Operation(
    "The schema of one version, as JSON",
    {200: answer("the schema", bodies.RawSchema), 404: VERSION_NOT_FOUND, 422: INVALID_VERSION},
    params=(SUBJECT, VERSION, DELETED), tags=("subjects",))
REFERENCED_BY = Operation(
    "The schema ids that refer to one version",
    {200: answer("the ids", bodies.SchemaIds), 404: VERSION_NOT_FOUND, 422: INVALID_VERSION},
    params=(SUBJECT, VERSION, DELETED), tags=("subjects",))

SCHEMA_TYPES = Operation("The schema types supported (AVRO)", {200: answer("the types", bodies.Names)},
                         tags=("schemas",))
SCHEMA_BY_ID = Operation("A schema by id", {200: answer("the schema", bodies.SchemaString), 404: SCHEMA_NOT_FOUND},
                         params=(SCHEMA_ID,), tags=("schemas",))
RAW_SCHEMA_BY_ID = Operation("A schema by id, as JSON", {200: answer("the schema", bodies.RawSchema),
                                                         404: SCHEMA_NOT_FOUND},
                             params=(SCHEMA_ID,), tags=("schemas",))
SUBJECTS_BY_ID = Operation("The subjects holding a schema id",
                           {200: answer("the subjects", bodies.Subjects), 404: SCHEMA_NOT_FOUND},
                           params=(SCHEMA_ID, DELETED, *PAGING), tags=("schemas",))
VERSIONS_BY_ID = Operation("The subject versions holding a schema id",
                           {200: answer("the subject versions", bodies.SubjectVersions), 404: SCHEMA_NOT_FOUND},
                           params=(SCHEMA_ID, DELETED, *PAGING), tags=("schemas",))
CONTEXTS = Operation("Schema contexts (only the default one, \".\")", {200: answer("the contexts", bodies.Names)},
                     tags=("schemas",))

COMPATIBILITY = Operation(
    "Whether a schema could be registered under the subject (against the version, or every live version)",
    {200: answer("the verdict", bodies.CompatibilityCheckResponse), 400: BAD_BODY, 404: VERSION_NOT_FOUND,
     413: TOO_LARGE, 422: failure("42201 invalid schema, 42202 invalid version")},
    params=(SUBJECT, VERSION, VERBOSE), body=request(bodies.RegisterSchemaRequest, {"schema": EXAMPLE_SCHEMA}),
    tags=("compatibility",))

GET_CONFIG = Operation(
    "The global compatibility level, or a subject's",
    {200: answer("the level", bodies.Config), 404: failure("40408: the subject has no level of its own")},
    params=(SUBJECT, DEFAULT_TO_GLOBAL), tags=("config",))
PUT_CONFIG = Operation(
    "Set the global compatibility level, or a subject's",
    {200: answer("the level set", bodies.ConfigUpdated, write=True), 400: BAD_BODY, 403: FORBIDDEN, 413: TOO_LARGE,
     422: failure("42203: invalid compatibility level")},
    params=(SUBJECT,), body=request(bodies.ConfigUpdateRequest, {"compatibility": "BACKWARD"}), tags=("config",))
DELETE_CONFIG = Operation(
    "Unset a subject's compatibility level, or reset the global one to BACKWARD",
    {200: answer("the level it had", bodies.Config, write=True), 403: FORBIDDEN,
     404: failure("40408: the subject has no level of its own")},
    params=(SUBJECT,), tags=("config",))
GET_MODE = Operation(
    "The global mode, or a subject's",
    {200: answer("the mode", bodies.ModeSetting), 404: failure("40409: the subject has no mode of its own")},
    params=(SUBJECT, DEFAULT_TO_GLOBAL), tags=("mode",))
PUT_MODE = Operation(
    "Set the global mode, or a subject's",
    {200: answer("the mode set", bodies.ModeSetting, write=True), 400: BAD_BODY, 403: FORBIDDEN, 413: TOO_LARGE,
     422: failure("42204: invalid mode (IMPORT is not supported)")},
    params=(SUBJECT,), body=request(bodies.ModeSetting, {"mode": "READWRITE"}), tags=("mode",))
DELETE_MODE = Operation(
    "Unset a subject's mode",
    {200: answer("the mode it had", bodies.ModeSetting, write=True), 403: FORBIDDEN,
     404: failure("40409: the subject has no mode of its own")},
    params=(SUBJECT,), tags=("mode",))
