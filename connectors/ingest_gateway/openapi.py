"""The gateway's OpenAPI description: what each handler takes and answers (attached to the handlers in
:mod:`connectors.ingest_gateway.app` with :func:`govbus.openapi.operation`), the bearer-key security and the
document's info. The document itself is made from the app's routes (:func:`govbus.openapi.document`)."""

from __future__ import annotations

from typing import Any

from connectors.ingest_gateway.bodies import BatchAnswer, DeleteAnswer, GatewayError, Health, Records
from connectors.ingest_gateway.idempotency import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY
from govbus import __version__
from govbus.openapi import (
    JSON,
    PROMETHEUS_OPERATION,
    ApiInfo,
    Content,
    Operation,
    Param,
    Reply,
    json_reply,
)

JSON_LINES = "application/x-ndjson"
SOURCE_SYSTEM_HEADER = "X-Source-System"
MAX_SOURCE_SYSTEM = 200

EXAMPLE_ITEM = "enterprise_registration"
EXAMPLE_RECORD: dict[str, Any] = {
    "uscc": "91330106Y4CL12TH3F", "name": "瑞丰科技有限公司", "legal_representative": "何强芳",
    "division_code": "330106", "registered_capital_cents": 9229514200, "established_on": "2019-06-14",
    "status": "CHANGED", "address": "330106某区某路72号", "enterprise_type": "LIMITED_LIABILITY_COMPANY",
    "registration_authority": "330106市场监督管理局", "business_scope": "技术开发、技术咨询、技术服务",
    "status_changed_on": "2020-02-13",
}
"""A valid record of :data:`EXAMPLE_ITEM` (synthetic; a unit test checks it against the catalogue)."""

ITEM = Param("item", "path", "a data item of the catalogue that the key's department publishes",
             {"type": "string", "minLength": 1}, example=EXAMPLE_ITEM)
KEY = Param("key", "path", "the record key: the item's key fields joined with |",
            {"type": "string", "minLength": 1}, example=EXAMPLE_RECORD["uscc"])
SOURCE_SYSTEM = Param(SOURCE_SYSTEM_HEADER, "header", "the department's system that sends the records (written "
                      "into every event's envelope): plain UTF-8 text without control characters",
                      {"type": "string", "minLength": 1, "maxLength": MAX_SOURCE_SYSTEM}, example="crm-2")

IDEMPOTENCY_KEY = Param(
    IDEMPOTENCY_KEY_HEADER, "header",
    f"a key of this batch (the IETF httpapi idempotency-key draft's header): 1 to {MAX_IDEMPOTENCY_KEY} printable "
    "ASCII characters, a new UUID per batch is a good one. Each record's event id is then derived from the "
    "department, the item, the key, the record's number in the request and the record, so the same batch sent again "
    "with the same key (after a 503 or no answer) gets the same event ids, and what the broker stored twice reaches "
    "the canonical topics once (sent again within the normaliser's deduplication window, an hour by default). "
    "Without it every record gets a random event id",
    {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": IDEMPOTENCY_KEY_PATTERN},
    example="5f0c4b8e-2a7d-4d1e-9c3b-7e6a1d2f4b90")


def refusal(description: str) -> Reply:
    return json_reply(description, GatewayError)


UNAUTHORISED = Reply(
    "no API key, or a key the gateway does not know (`unauthorized`)", (Content(JSON, GatewayError),))
INTERNAL = refusal("the gateway failed unexpectedly (`internal_error`); nothing was accepted: retry later")
FORBIDDEN = refusal("the key's department does not publish this item (`forbidden`)")
UNKNOWN_ITEM = refusal("no such item in the catalogue (`unknown_item`, with `known_items`)")

INFO = ApiInfo(
    title="govbus ingest gateway",
    version=__version__,
    description="Departments without Kafka clients publish records over HTTP. A record is validated against its "
    "data item in the catalogue, and a 202 comes only after the broker acknowledged every accepted record, with "
    "its partition and offset. Every refusal is JSON `{error, message}`.",
    security_schemes={
        "bearerKey": {"type": "http", "scheme": "bearer", "description": "the department's API key "
                      "(`govbus gateway add-key DEPARTMENT`), as `Authorization: Bearer <key>`"},
        "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                         "description": "the same API key in the X-API-Key header"},
    },
    security=({"bearerKey": ()}, {"apiKeyHeader": ()}),
    unauthorised=UNAUTHORISED,
    common={500: INTERNAL},
)

POST_RECORDS = Operation(
    summary="Publish records of one data item",
    description="The body is one record, a JSON array of records, or JSON lines (`application/x-ndjson`, also "
    "`application/jsonl`). Every record is validated and encoded before any is sent, so a batch is never half "
    "produced; each gets a result in `results`, in order. Send an `Idempotency-Key` with every batch, and the same "
    "key when you send that batch again: its records then keep their event ids, and a record stored twice is "
    "delivered once downstream.",
    params=(ITEM, SOURCE_SYSTEM, IDEMPOTENCY_KEY),
    body=(Content(JSON, Records, example=EXAMPLE_RECORD),
          Content(JSON_LINES, schema={"type": "string", "description": "one JSON object per line"})),
    replies={
        202: json_reply("at least one record was accepted (the others' results say why not)", BatchAnswer),
        400: refusal(f"the body is not UTF-8 JSON (`bad_body`), holds no record (`empty_body`), the "
                     f"{SOURCE_SYSTEM_HEADER} header is no plain text, or the {IDEMPOTENCY_KEY_HEADER} header is "
                     f"empty, longer than {MAX_IDEMPOTENCY_KEY} characters or not printable ASCII (`bad_header`)"),
        403: FORBIDDEN,
        404: UNKNOWN_ITEM,
        413: refusal("the body is larger than the gateway takes (`body_too_large`), or holds more records "
                     "(`batch_too_large`): split it"),
        422: json_reply("no record was accepted: each rejected one names its field and rule", BatchAnswer),
        503: json_reply(f"the broker did not acknowledge the records in time: send the batch again, with the same "
                        f"{IDEMPOTENCY_KEY_HEADER}", BatchAnswer),
    },
    tags=("records",),
)

DELETE_RECORD = Operation(
    summary="Publish a delete event for one record key",
    params=(ITEM, KEY, SOURCE_SYSTEM),
    replies={
        202: json_reply("the broker stored the delete event", DeleteAnswer),
        400: refusal(f"the {SOURCE_SYSTEM_HEADER} header is no plain text (`bad_header`)"),
        403: FORBIDDEN,
        404: UNKNOWN_ITEM,
        422: refusal("the key breaks the item's key rule (`rejected`, with field and rule)"),
        503: refusal("the broker did not acknowledge the delete (`not_delivered`): send it again"),
    },
    tags=("records",),
)

HEALTH = Operation(summary="Whether the gateway answers", replies={200: json_reply("it does", Health)},
                   public=True, tags=("operations",))

METRICS = PROMETHEUS_OPERATION
