"""Turn a request body into numbered records, and publish them with per-record results.

A batch is decided record by record before anything of it is produced: every record is parsed,
validated and encoded first (:meth:`govbus.publisher.Publisher.prepare`), and only then are the
valid ones sent. So a record that fails in any way cannot leave the batch half-produced, and a
client that sends the batch again does not duplicate its earlier records.

A record whose delivery the gateway could not confirm (a broker restart, a timeout) may still have
been stored. With an ``Idempotency-Key`` each record's event id is derived from it
(:mod:`connectors.ingest_gateway.idempotency`), so the batch sent again with the same key carries the
same event ids and the stream processors drop what was stored twice; without one the ids are random.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from connectors.file_source import Rejection, parse_json_lines
from connectors.ingest_gateway.bodies import RecordAccepted, RecordFailed, RecordRejected, RecordResult
from connectors.ingest_gateway.idempotency import IDEMPOTENCY_KEY_HEADER, record_event_id
from govbus.exceptions import DeliveryError, ValidationError
from govbus.publisher import Delivery, Prepared, Publisher

JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")


class BadBody(Exception):
    """The body as a whole cannot be read (HTTP 400)."""


@dataclass(frozen=True)
class Parsed:
    number: int
    record: dict[str, Any] | None
    rejection: Rejection | None = None


def parse_body(body: bytes, content_type: str) -> list[Parsed]:
    """Records of a JSON object, a JSON array of objects, or JSON lines (numbered from 1)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody(f"body is not UTF-8 text: {error}") from error
    if content_type in JSON_LINES_TYPES:
        # lines end at "\n" only: str.splitlines() also splits at U+2028 and other separators a JSON string may hold
        return [Parsed(n, r, None) if isinstance(r, dict) else Parsed(n, None, r)
                for n, r in parse_json_lines(text.split("\n"))]
    try:
        value = json.loads(text)
    except ValueError as error:
        raise BadBody(f"body is not valid JSON: {error}; send one object, an array of objects, "
                      f"or JSON lines with Content-Type {JSON_LINES_TYPES[0]}") from error
    except RecursionError:
        raise BadBody("body is JSON nested too deeply to be read; a record holds at most lists of records: send "
                      "one object, an array of objects, or JSON lines") from None
    values = value if isinstance(value, list) else [value]
    return [Parsed(n, v) if isinstance(v, dict) else
            Parsed(n, None, Rejection(n, "", "json", "record is not a JSON object"))
            for n, v in enumerate(values, start=1)]


async def publish_batch(publisher: Publisher, item: str, parsed: list[Parsed], source_system: str | None,
                        timeout: float, idempotency_key: str | None = None) -> list[RecordResult]:
    """Validate and encode every record, then send the valid ones; wait for the broker; one result per record,
    in order. With ``idempotency_key`` the event ids are derived from it, else random."""
    results: list[RecordResult | None] = []
    ready: list[tuple[int, Prepared]] = []
    for entry in parsed:
        if entry.rejection is not None or entry.record is None:
            results.append(_rejected(entry.number, entry.rejection))
            continue
        try:
            event_id = None if idempotency_key is None else record_event_id(
                publisher.department, item, idempotency_key, entry.number, entry.record)
            ready.append((len(results), publisher.prepare(item, entry.record, event_id=event_id,
                                                          source_system=source_system)))
        except ValidationError as error:
            results.append(_rejected(entry.number, Rejection(entry.number, error.field, error.rule, error.detail)))
            continue
        results.append(None)  # its delivery result, below
    waiting = [(index, asyncio.wrap_future(publisher.send(prepared))) for index, prepared in ready]
    if waiting:
        await asyncio.wait([f for _, f in waiting], timeout=timeout)
    for index, future in waiting:
        results[index] = _delivery_result(parsed[index].number, future)
    return [result for result in results if result is not None]


def _delivery_result(number: int, future: asyncio.Future[Delivery]) -> RecordAccepted | RecordFailed:
    if not future.done():
        return RecordFailed(record=number, message="the broker did not acknowledge in time; the record may or may "
                            f"not be stored: send the batch again, with the same {IDEMPOTENCY_KEY_HEADER}")
    error = future.exception()
    if isinstance(error, DeliveryError):
        return RecordFailed(record=number, message=f"{error} (with the same {IDEMPOTENCY_KEY_HEADER})")
    if error is not None:
        raise error
    delivery = future.result()
    return RecordAccepted(record=number, event_id=delivery.event_id, key=delivery.record_key, topic=delivery.topic,
                          partition=delivery.partition, offset=delivery.offset)


def _rejected(number: int, rejection: Rejection | None) -> RecordRejected:
    rejection = rejection or Rejection(number, "", "json", "record is not a JSON object")
    return RecordRejected(record=number, field=rejection.field, rule=rejection.rule, message=rejection.reason)
