"""The gateway's request and answer bodies as pydantic models: the handlers build every answer with them, and
the OpenAPI document (:mod:`connectors.ingest_gateway.openapi`) describes them from the same models.

    202  BatchAnswer   every record's result, at least one accepted (its partition and offset)
    422  BatchAnswer   no record accepted: the rejected ones name field and rule
    503  BatchAnswer   the broker did not acknowledge: send again
    202  DeleteAnswer  the delete event's partition and offset
    4xx  GatewayError  {"error": code, "message": what to do, ...}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Answer(BaseModel):
    """An answer whose every field is always sent: the JSON schema lists the defaulted ones as required too."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class Records(RootModel[dict[str, Any] | Annotated[list[dict[str, Any]], Field(min_length=1)]]):
    """One record (a JSON object of the item's fields), or a JSON array of records. JSON lines (one object per
    line) are sent as ``application/x-ndjson``. Each record is checked against the catalogue on its own."""


class RecordAccepted(Answer):
    """The broker stored the record: where."""

    record: int = Field(description="the record's number in the request, from 1")
    status: Literal["accepted"] = "accepted"
    event_id: str = Field(description="the event id govbus gave the record (a UUID): derived from the request's "
                          "Idempotency-Key when it has one (the same when the batch is sent again), else random")
    key: str = Field(description="the record key (the item's key field)")
    topic: str
    partition: int
    offset: int


class RecordRejected(Answer):
    """The record breaks a rule of its item; nothing of it was sent."""

    record: int = Field(description="the record's number in the request, from 1")
    status: Literal["rejected"] = "rejected"
    field: str = Field(description="the field that breaks the rule (empty when the record as a whole does)")
    rule: str = Field(description="the rule it breaks: json, required, type, pattern, ...")
    message: str


class RecordFailed(Answer):
    """The broker did not acknowledge the record in time: it may or may not be stored, send it again."""

    record: int = Field(description="the record's number in the request, from 1")
    status: Literal["failed"] = "failed"
    rule: Literal["delivery"] = "delivery"
    message: str


RecordResult = Annotated[RecordAccepted | RecordRejected | RecordFailed, Field(discriminator="status")]


class BatchAnswer(BaseModel):
    """One result per record of the request, in order, and how many had each outcome."""

    accepted: int
    rejected: int
    failed: int
    results: list[RecordResult]
    message: str | None = Field(default=None, description="what to do, when no record was accepted")

    @classmethod
    def of(cls, results: list[RecordResult]) -> BatchAnswer:
        counts = {outcome: sum(result.status == outcome for result in results)
                  for outcome in ("accepted", "rejected", "failed")}
        return cls(accepted=counts["accepted"], rejected=counts["rejected"], failed=counts["failed"],
                   results=results)


class DeleteAnswer(Answer):
    """The delete event the broker stored."""

    status: Literal["accepted"] = "accepted"
    event_id: str
    topic: str
    partition: int
    offset: int


class GatewayError(BaseModel):
    """A refusal: a stable code and a message saying what to do; some codes carry more."""

    error: str = Field(description="unauthorized, forbidden, unknown_item, bad_header, bad_body, empty_body, "
                       "body_too_large, batch_too_large, rejected, not_delivered, internal_error")
    message: str
    known_items: list[str] | None = Field(default=None, description="unknown_item: the catalogue's items")
    field: str | None = Field(default=None, description="rejected: the field that breaks the rule")
    rule: str | None = Field(default=None, description="rejected: the rule it breaks")


class Health(Answer):
    """The gateway answers."""

    status: Literal["ok"] = "ok"
