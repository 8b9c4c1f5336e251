"""The registry's REST errors, each carrying Confluent's HTTP status and ``error_code``.

A handler raises one of these; the error middleware turns it into the JSON body
``{"error_code": ..., "message": ...}`` Confluent clients parse.

    govbus.exceptions.RegistryError
    └── RestError                              (status, error_code)
        ├── BadRequest                          400 / 400    body is not a JSON object
        ├── Unauthenticated                     401 / 40101  no, malformed or wrong credentials
        ├── Forbidden                           403 / 40301  authenticated, but not allowed to do that
        ├── RouteNotFound                       404 / 404    no such endpoint
        ├── MethodNotAllowed                    405 / 405
        ├── SubjectNotFound                     404 / 40401
        ├── VersionNotFound                     404 / 40402
        ├── SchemaNotFound                      404 / 40403
        ├── SubjectSoftDeleted                  404 / 40404
        ├── SubjectNotSoftDeleted               404 / 40405
        ├── VersionSoftDeleted                  404 / 40406
        ├── VersionNotSoftDeleted               404 / 40407
        ├── SubjectCompatibilityNotConfigured   404 / 40408
        ├── SubjectModeNotConfigured            404 / 40409
        ├── IncompatibleSchema                  409 / 409    carries the reasons
        ├── InvalidSchema                       422 / 42201
        ├── InvalidVersion                      422 / 42202
        ├── InvalidCompatibilityLevel           422 / 42203
        ├── InvalidMode                         422 / 42204
        ├── OperationNotPermitted               422 / 42205  e.g. read-only mode
        ├── ReferenceExists                     422 / 42206
        ├── SchemaTooLarge                      422 / 42209  it would not fit in a Kafka record
        ├── StoreError                          500 / 50001  the Kafka log failed
        ├── OperationTimeout                    500 / 50002
        ├── ForwardingFailed                    500 / 50003  the primary could not be reached
        ├── UnknownPrimary                      500 / 50004  no primary elected yet
        └── InternalError                       500 / 50000  a bug: reported, never raised for bad input
"""

from __future__ import annotations

import reprlib
from typing import Any, ClassVar

from govbus.exceptions import RegistryError

_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 3, 80, 80, 40


def shown(value: object) -> str:
    """A short ``repr`` of a client's value for an error message: cut at three levels and 80 characters, so a
    value nested thousands deep or megabytes long makes a readable message instead of a RecursionError (a 500)."""
    return _SHOWN.repr(value)


class RestError(RegistryError):
    """An error the registry reports to an HTTP client."""

    http_status: ClassVar[int] = 500
    error_code: ClassVar[int] = 50000

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_body(self) -> dict[str, Any]:
        """The JSON body Confluent clients expect."""
        return {"error_code": self.error_code, "message": self.message}

    def headers(self) -> dict[str, str]:
        """Extra response headers the error's status needs (none but for 401)."""
        return {}


class BadRequest(RestError):
    http_status, error_code = 400, 400


class Unauthenticated(RestError):
    """The request has no valid credentials; the header tells HTTP clients to send Basic credentials."""

    http_status, error_code = 401, 40101
    realm: ClassVar[str] = "govbus-registry"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}


class Forbidden(RestError):
    http_status, error_code = 403, 40301


class RouteNotFound(RestError):
    http_status, error_code = 404, 404


class MethodNotAllowed(RestError):
    http_status, error_code = 405, 405


class SubjectNotFound(RestError):
    http_status, error_code = 404, 40401

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFound(RestError):
    http_status, error_code = 404, 40402

    def __init__(self, subject: str, version: int | str) -> None:
        super().__init__(f"Version {version} not found for subject '{subject}'.")


class SchemaNotFound(RestError):
    http_status, error_code = 404, 40403


class SubjectSoftDeleted(RestError):
    http_status, error_code = 404, 40404

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was soft deleted. Set permanent=true to delete it permanently."
        )


class SubjectNotSoftDeleted(RestError):
    http_status, error_code = 404, 40405

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was not deleted first before being permanently deleted: "
            "soft delete it first (DELETE without permanent=true)."
        )


class VersionSoftDeleted(RestError):
    http_status, error_code = 404, 40406

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' version {version} was soft deleted. "
            "Set permanent=true to delete it permanently."
        )


class VersionNotSoftDeleted(RestError):
    http_status, error_code = 404, 40407

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' version {version} was not deleted first before being permanently "
            "deleted: soft delete it first (DELETE without permanent=true)."
        )


class SubjectCompatibilityNotConfigured(RestError):
    http_status, error_code = 404, 40408

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured "
            "(add defaultToGlobal=true to get the global level)."
        )


class SubjectModeNotConfigured(RestError):
    http_status, error_code = 404, 40409

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level mode configured "
            "(add defaultToGlobal=true to get the global mode)."
        )


class IncompatibleSchema(RestError):
    http_status, error_code = 409, 409

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class InvalidSchema(RestError):
    http_status, error_code = 422, 42201


class InvalidVersion(RestError):
    http_status, error_code = 422, 42202

    def __init__(self, version: str) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest".'
        )


class InvalidCompatibilityLevel(RestError):
    http_status, error_code = 422, 42203


class InvalidMode(RestError):
    http_status, error_code = 422, 42204


class OperationNotPermitted(RestError):
    http_status, error_code = 422, 42205


class ReferenceExists(RestError):
    http_status, error_code = 422, 42206


class SchemaTooLarge(RestError):
    http_status, error_code = 422, 42209


class StoreError(RestError):
    http_status, error_code = 500, 50001


class OperationTimeout(RestError):
    http_status, error_code = 500, 50002


class ForwardingFailed(RestError):
    http_status, error_code = 500, 50003


class UnknownPrimary(RestError):
    http_status, error_code = 500, 50004


class InternalError(RestError):
    http_status, error_code = 500, 50000
