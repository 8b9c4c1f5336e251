"""Hostile input on the schema registry, in process: its input parsing (path parts, query parameters, JSON
bodies) and hostile schemas registered, looked up and checked for compatibility against the registry's state.
Every answer is a value or a REST error below 500 (a 500 says "a bug", never "bad input")."""

from __future__ import annotations

from typing import Any

from hypothesis import given, note

from schemas.registry import reads, writes
from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.errors import RestError
from schemas.registry.inputs import (
    SchemaRequest,
    flag,
    page,
    parse_json_object,
    parse_schema_id,
    parse_schema_request,
    parse_version,
)
from schemas.registry.modes import Mode
from schemas.registry.records import PrimaryRecord
from schemas.registry.state import Fence, RegistryState
from testsupport.hostile import Hostile, budget, encoded, hostile, ran, shown, to_json_text


def answered(call: Any, *args: Any) -> Any:
    """``call(*args)``, or the REST error it raised, which must be a client error."""
    try:
        return call(*args)
    except RestError as refused:
        assert refused.http_status < 500, f"{type(refused).__name__}: {refused.message}"
        assert refused.message
        return refused


def _body(gen: Hostile) -> bytes:
    """A request body: a schema request of hostile parts (some nested deep), or anything at all."""
    if gen.rng.random() < 0.5:
        return gen.json_body()
    parts = [f'"schema": {to_json_text(gen.schema_text() if gen.rng.random() < 0.8 else gen.value(3))}']
    for name in ("schemaType", "references", "metadata", "ruleSet", "id", "compatibility", "mode"):
        if gen.rng.random() < 0.2:
            value = to_json_text(gen.value(4)) if gen.rng.random() < 0.7 else gen.deep_text(100, 3000)
            parts.append(f'"{name}": {value}')
    text = "{" + ", ".join(parts) + "}"
    return encoded(text) if gen.rng.random() < 0.9 else text.encode("utf-16", errors="surrogatepass")


@budget("registry.inputs")
@given(hostile())
def test_any_path_query_or_body_is_parsed_or_refused_as_a_client_error(gen: Hostile) -> None:
    ran("registry.inputs")
    text = gen.string()
    query = {gen.rng.choice(["offset", "limit", "deleted", "permanent"]): gen.string() for _ in range(3)}
    raw = _body(gen)
    note(f"text={shown(text)} query={shown(query)} body={shown(raw)}")
    answered(parse_version, text)
    answered(parse_schema_id, text)
    assert isinstance(flag(query, "deleted"), bool)
    assert isinstance(page(list(range(10)), query), list)
    body = answered(parse_json_object, raw)
    if isinstance(body, dict):
        answered(parse_schema_request, body)
        answered(CompatibilityLevel.parse, body.get("compatibility"))
        answered(Mode.parse, body.get("mode"))
    deep = gen.deep()  # as a shallower request stack could have read it
    for parse in (CompatibilityLevel.parse, Mode.parse, lambda v: parse_schema_request({"schemaType": v}),
                  lambda v: parse_schema_request({"schema": "1", "references": [v]})):
        answered(parse, deep)


class Primary:
    """A registry's state applying every plan it makes (as the primary does, without the Kafka log)."""

    def __init__(self) -> None:
        self.state = RegistryState()
        assert self.state.apply(PrimaryRecord(1, "me", "http://me"), None)

    def run(self, plan: writes.Plan) -> Any:
        for record in plan.records:
            assert self.state.apply(record, Fence(1, "me"))
        return plan.reply


@budget("registry.schemas")
@given(hostile())
def test_hostile_schemas_are_registered_checked_or_refused_as_client_errors(gen: Hostile) -> None:
    ran("registry.schemas")
    primary = Primary()
    level = gen.rng.choice(list(CompatibilityLevel))
    answered(lambda: primary.run(writes.plan_set_config(primary.state, "s-value", level)))
    texts = [gen.schema_text() for _ in range(3)]
    note(f"level={level} schemas={shown(texts)}")
    for text in texts:
        request = SchemaRequest(text)
        answered(lambda r=request: primary.run(writes.plan_register(primary.state, "s-value", r)))
        answered(reads.lookup, primary.state, "s-value", request, False)
        answered(reads.test_compatibility, primary.state, "s-value", "latest", request, True)
