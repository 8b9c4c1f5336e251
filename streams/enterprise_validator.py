"""Decode, validate and re-encode enterprise-registration events (no Kafka I/O here)."""

from __future__ import annotations

from dataclasses import dataclass

from govbus.exceptions import DecodeError, SerdeError, ValidationError
from govbus.serde import WireDecoder, WireEncoder
from streams.validation import validate_enterprise_registration


@dataclass(frozen=True)
class Accepted:
    value: bytes
    event_id: str


@dataclass(frozen=True)
class Rejected:
    reason: str
    stage: str
    field: str = ""
    rule: str = ""


Outcome = Accepted | Rejected


class EnterpriseRegistrationValidator:
    """Turns one raw department event into a canonical event or a rejection with its reason."""

    def __init__(self, decoder: WireDecoder, canonical: WireEncoder) -> None:
        self._decoder = decoder
        self._canonical = canonical

    def handle(self, raw: bytes | None) -> Outcome:
        try:
            event = self._decoder.decode(raw).value
        except DecodeError as error:
            return Rejected(str(error), stage="decode", rule="wire_format")
        if not _looks_like_envelope(event):
            return Rejected("value is not a change-event envelope with a record", stage="decode", rule="envelope")
        if event["operation"] == "UPSERT":
            if event["record"] is None:
                return Rejected("an UPSERT event has no record", "validate", field="record", rule="required")
            try:
                validate_enterprise_registration(event["record"])
            except ValidationError as error:
                return Rejected(str(error), "validate", field=error.field, rule=error.rule)
        try:
            return Accepted(self._canonical.encode(event), event_id=str(event["event_id"]))
        except SerdeError as error:
            return Rejected(str(error), stage="encode", rule="canonical_schema")


def _looks_like_envelope(event: dict[str, object]) -> bool:
    return {"event_id", "operation", "record", "record_key"} <= event.keys()
