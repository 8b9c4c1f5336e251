"""The one exception hierarchy of govbus.

Every error govbus raises on purpose derives from :class:`GovbusError`; its message says
what went wrong and what the user can do about it.

    GovbusError
    ├── ConfigurationError          bad settings or arguments
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
