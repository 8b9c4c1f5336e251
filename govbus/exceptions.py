"""The one exception hierarchy of govbus.

Every error govbus raises on purpose derives from :class:`GovbusError`; its message says
what went wrong and what the user can do about it.

    GovbusError
    ├── ConfigurationError          bad settings or arguments
    │   ├── CatalogueError          a catalogue file (schema or metadata) is invalid
    │   │   └── UnknownDataItemError    no data item of that name; carries close matches
    │   └── ApiDescriptionError     an HTTP route has no OpenAPI description (govbus.openapi)
    ├── PlatformError               the local embedded platform (Kafka, registry)
    │   ├── MissingToolError        java / mvn not installed
    │   ├── PortInUseError          a port the platform needs is taken
    │   └── StartupTimeoutError     a component did not become ready in time
    ├── RegistryError               talking to the schema registry (see schemas.registry.errors
    │                               for the server-side REST errors)
    ├── ValidationError             a record breaks a rule; names the field
    ├── AuthorizationError          a party asked for something it may not do
    ├── SerdeError                  Avro / Confluent wire format
    │   └── DecodeError             bytes that are not a decodable record
    └── DeliveryError               a record could not be delivered to Kafka or a receiver
"""

from __future__ import annotations


class GovbusError(Exception):
    """Root of every error govbus raises on purpose."""


class ConfigurationError(GovbusError):
    """Settings or arguments are invalid."""


class CatalogueError(ConfigurationError):
    """A catalogue file (an item's Avro schema or its metadata) is invalid; names the file."""


class UnknownDataItemError(CatalogueError):
    """The catalogue has no data item of that name.

    ``name`` is what was asked for, ``close_matches`` the known names that look like it and
    ``known`` every known name, so a command line can suggest the right one.
    """

    def __init__(self, name: str, known: list[str], close_matches: list[str]) -> None:
        hint = f"did you mean {', '.join(close_matches)}? " if close_matches else ""
        super().__init__(f"no data item {name!r} in the catalogue; {hint}known items: {', '.join(known)}")
        self.name = name
        self.known = known
        self.close_matches = close_matches


class ApiDescriptionError(ConfigurationError):
    """An HTTP route has no OpenAPI description (:func:`govbus.openapi.operation`); names the route."""


class PlatformError(GovbusError):
    """The local embedded platform could not be started, stopped or reached."""


class MissingToolError(PlatformError):
    """A program the platform needs (java, mvn) is not installed."""


class PortInUseError(PlatformError):
    """A TCP port the platform needs is already taken."""


class StartupTimeoutError(PlatformError):
    """A component did not become ready within its deadline."""


class RegistryError(GovbusError):
    """The schema registry refused a request or could not be reached."""


class ValidationError(GovbusError):
    """A record breaks a validation rule.

    ``field`` names the offending field and ``rule`` the rule it broke, so the error can be
    reported (and dead-lettered) without parsing the message.
    """

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule
        self.detail = message


class AuthorizationError(GovbusError):
    """A department or subscriber asked for something the catalogue or its grant does not allow."""


class SerdeError(GovbusError):
    """A value could not be encoded or decoded."""


class DecodeError(SerdeError):
    """Bytes are not a record in the Confluent wire format with a known schema."""


class DeliveryError(GovbusError):
    """A record could not be delivered."""
