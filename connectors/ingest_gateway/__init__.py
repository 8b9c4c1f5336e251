"""The HTTP ingest gateway: departments without Kafka clients POST records over HTTP.

    POST /v1/items/{item}/records          one JSON object, a JSON array, or JSON lines
    DELETE /v1/items/{item}/records/{key}  a delete event for one record key
    GET /healthz, GET /metrics
    GET /openapi.json                      the OpenAPI 3.1 document (also docs/openapi/gateway.json)

Authenticated per department with API keys (``Authorization: Bearer <key>`` or ``X-API-Key``),
stored hashed. A 202 comes only after the broker acknowledged every accepted record, with its
partition and offset; see :mod:`connectors.ingest_gateway.bodies` for every answer and
:mod:`connectors.ingest_gateway.openapi` for the description of each route. A POST with an
``Idempotency-Key`` header gets event ids derived from it, the same when the batch is sent again
(:mod:`connectors.ingest_gateway.idempotency`).
"""
