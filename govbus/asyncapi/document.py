"""The AsyncAPI 3.0 document of the bus, built from the catalogue, its dialects and profiles.

    document = asyncapi_document(load_catalogue(), load_profiles(), prefix="govbus")

Its parts:

1. ``servers``: the Kafka bootstrap, plain SASL/SCRAM (the local platform's default) and SCRAM inside TLS
   (``GOVBUS_TLS``); both name the schema registry (Confluent's API, HTTP Basic).
2. ``channels`` (:mod:`govbus.asyncapi.channels`): every topic, each item's and profile's by name.
3. ``operations`` (:mod:`govbus.asyncapi.operations`): what each role sends and receives, tagged by role.
4. ``components``: the messages (payload, key in the Kafka binding, headers), the schemas (Avro in the
   multi-format schema object, JSON Schema for JSON values, the header sets), the security scheme, the tags.

Nothing here reads the clock or the environment: the same catalogue and prefix give the same document, which is
why ``docs/asyncapi.yaml`` can be compared with a fresh one in a unit test.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from govbus.asyncapi import payloads
from govbus.asyncapi.channels import Channel, Message, catalogue_channels, local_schema_id
from govbus.asyncapi.headers import header_components
from govbus.asyncapi.operations import operations, tags
from govbus.audit_record import AuditRecord
from govbus.connection import DEFAULT_BOOTSTRAP, DEFAULT_REGISTRY_URL
from govbus.last_events import LastEvent, Watcher
from govbus.sharing.model import Grant, Subscription
from schemas.catalogue.model import Catalogue
from schemas.catalogue.profiles import ProfileDefinition
from streams.dialects import local_dialects

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
JSON_MODELS = (Subscription, Grant, AuditRecord, LastEvent, Watcher)

Document = dict[str, Any]

_DESCRIPTION = """\
The topics of govbus, the event-streaming bus on which government departments share data items of the
catalogue: what each carries (Avro or JSON value, key, headers), and who sends and who receives.

- **Topic names** start with the prefix `{prefix}` (`GOVBUS_TOPIC_PREFIX`; the document of another prefix
  is `govbus catalogue asyncapi --topic-prefix P`). Channel ids are the topic names without it.
- **Avro values** are in the Confluent wire format: byte 0, the 4-byte big-endian schema id, then the Avro
  binary body; the writer schema is in the schema registry under the subject `<topic>-value`
  (TopicNameStrategy), which each message names. The schemas here are the ones registered.
- **Keys** are UTF-8 strings, never registered: the record key, the item's key fields joined with `|`.
- **Headers** are UTF-8 strings. Department, canonical and profile events carry the CloudEvents attributes
  (binary mode of the CloudEvents Kafka protocol binding: `ce_id`, `ce_source`, `ce_type`, ...).
- **Principals**: every party authenticates with SASL/SCRAM-SHA-512 as its own principal, and the broker's
  ACLs allow exactly the operations listed here for its role (tags).
"""


def info(prefix: str) -> dict[str, Any]:
    return {
        "title": "govbus",
        "version": version("govbus"),
        "description": _DESCRIPTION.format(prefix=prefix),
    }


def servers() -> dict[str, Any]:
    """Two ways to the one broker: SASL/SCRAM in clear (the local platform's default) and inside TLS."""
    bindings = {"kafka": {"schemaRegistryUrl": DEFAULT_REGISTRY_URL, "schemaRegistryVendor": "confluent",
                          "bindingVersion": KAFKA_BINDING_VERSION}}
    variables = {"bootstrap": {"default": DEFAULT_BOOTSTRAP,
                               "description": "A bootstrap server (GOVBUS_KAFKA__BOOTSTRAP)."}}
    security = [{"$ref": "#/components/securitySchemes/scram"}]
    registry = (f"The schema registry (Confluent's REST API, HTTP Basic with the same principal) is at "
                f"GOVBUS_REGISTRY__URL ({DEFAULT_REGISTRY_URL} on the local platform).")
    return {
        "kafka": {"host": "{bootstrap}", "protocol": "kafka", "title": "Kafka, SASL_PLAINTEXT",
                  "description": "SASL/SCRAM-SHA-512 without TLS: GOVBUS_KAFKA__SECURITY_PROTOCOL=SASL_PLAINTEXT "
                                 f"(the local platform, `govbus dev up`). {registry}",
                  "variables": variables, "security": security, "bindings": bindings},
        "kafka-tls": {"host": "{bootstrap}", "protocol": "kafka-secure", "title": "Kafka, SASL_SSL",
                      "description": "SASL/SCRAM-SHA-512 inside TLS: GOVBUS_KAFKA__SECURITY_PROTOCOL=SASL_SSL, the "
                                     "CA in GOVBUS_KAFKA__TLS_CA (the local platform with GOVBUS_TLS=true). "
                                     f"{registry}",
                      "variables": variables, "security": security, "bindings": bindings},
    }


def security_schemes() -> dict[str, Any]:
    return {"scram": {"type": "scramSha512",
                      "description": "SASL/SCRAM-SHA-512: the principal's user name (`department.<slug>`, "
                                     "`subscriber.<slug>`, `connector.<subscription>`, `processor.<name>`, "
                                     "`operator`) and password (GOVBUS_KAFKA__USERNAME, GOVBUS_KAFKA__PASSWORD)."}}


def message_object(message: Message) -> dict[str, Any]:
    """A message component: payload and headers by reference, the key in the Kafka message binding."""
    binding: dict[str, Any] = {"key": message.key}
    description = message.description
    if message.subject is not None:
        binding |= {"schemaIdLocation": "payload", "schemaIdPayloadEncoding": "confluent",
                    "schemaLookupStrategy": "TopicNameStrategy"}
        description = (f"{description} " if description else "") + (
            f"Registry subject `{message.subject}`. The value is in the Confluent wire format: byte 0, the 4-byte "
            "big-endian schema id, then the Avro binary body.")
    found: dict[str, Any] = {"name": message.id, "title": message.title, "summary": message.summary}
    if description:
        found["description"] = description
    found["contentType"] = message.content_type
    if message.headers is not None:
        found["headers"] = {"$ref": f"#/components/schemas/{message.headers}"}
    found["payload"] = {"$ref": f"#/components/schemas/{message.payload}"}
    if message.subject is not None:
        found["x-registry-subject"] = message.subject
    found["bindings"] = {"kafka": {**binding, "bindingVersion": KAFKA_BINDING_VERSION}}
    return found


def channel_object(channel: Channel) -> dict[str, Any]:
    found: dict[str, Any] = {"address": channel.address, "title": channel.title, "description": channel.description,
                             "messages": {key: {"$ref": f"#/components/messages/{message.id}"}
                                          for key, message in channel.messages.items()}}
    if channel.parameters:
        found["parameters"] = channel.parameters
    if channel.compacted:
        found["bindings"] = {"kafka": {"topicConfiguration": {"cleanup.policy": ["compact"]},
                                       "bindingVersion": KAFKA_BINDING_VERSION}}
    return found


def schema_components(catalogue: Catalogue, profiles: list[ProfileDefinition]) -> dict[str, Any]:
    """Every payload and header schema, by component name."""
    found: dict[str, Any] = {}
    for item in catalogue:
        found[item.event_name] = payloads.avro(item.event_schema())
        for dialect in local_dialects(item.name):
            found[local_schema_id(dialect)] = payloads.avro(dialect.event_schema())
    for profile in profiles:
        found[profile.schema["name"]] = payloads.avro(profile.schema)
    found["DeadLetter"] = payloads.raw_bytes("The rejected record's value as it arrived: a department or local "
                                             "dialect event in the Confluent wire format, or bytes that are not.")
    found["ParkedRecord"] = payloads.raw_bytes("The canonical or profile record's value as it was read.")
    found["DeliveredEvent"] = payloads.delivered_event()
    models, nested = payloads.model_schemas(list(JSON_MODELS))
    return {**found, **models, **nested, **header_components()}


def asyncapi_document(catalogue: Catalogue, profiles: list[ProfileDefinition], prefix: str) -> Document:
    """The whole document (see the module docstring)."""
    channels = catalogue_channels(catalogue, profiles, prefix)
    messages = {message.id: message_object(message) for channel in channels for message in channel.messages.values()}
    profile_items = frozenset(item for profile in profiles for item in profile.items)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:govbus:bus",
        "info": info(prefix),
        "servers": servers(),
        "channels": {channel.id: channel_object(channel) for channel in channels},
        "operations": operations(channels, profile_items),
        "components": {
            "schemas": schema_components(catalogue, profiles),
            "messages": messages,
            "securitySchemes": security_schemes(),
            "tags": tags(),
        },
    }
