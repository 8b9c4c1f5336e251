"""Requests generated from an OpenAPI document by schemathesis against a live server, every answer checked.

Issue #13 point 1: the gateway, the feed and the registry each answer at least 200 generated requests, every
answer conforming to the API's document (a documented status code, a documented content type, a body valid
against the documented schema, documented headers valid) and none a 5xx.

:func:`exercise` runs, for every operation of the document, hypothesis over schemathesis' strategies for it:
valid requests (positive), requests that break the document (negative), the document's own examples, and the
``steered`` ones a test adds (fixed path parameters, so that generated requests reach a handler's inner paths:
an item the key's department publishes, a subject that exists). Each run is derandomized, without an example
database or a deadline, so the suite is reproducible and never passes only on a retry; a failure prints the
request (as curl) and every check it broke.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
"""No 5xx; the status code, content type, body and headers as the document says."""

Operation = APIOperation[Any, Any, Any, Any]
Cases = st.SearchStrategy[Case[Any]]
Steering = Callable[[Operation], list[Mapping[str, Any]]]
"""Extra ``as_strategy`` arguments (e.g. ``{"path_parameters": {...}}``) for an operation, one strategy each."""


@dataclass
class Tally:
    """What the run sent and got: the document's operations, requests per operation and status codes per
    operation."""

    operations: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def untried(self) -> set[str]:
        """Operations no request was sent to."""
        return set(self.operations) - set(self.requests)

    def codes(self, operation: str) -> set[int]:
        return {status for (label, status) in self.statuses if label == operation}


def no_steering(_operation: Operation) -> list[Mapping[str, Any]]:
    return []


def operations(schema: BaseSchema) -> list[Operation]:
    """Every operation of ``schema``; one schemathesis cannot read fails the test."""
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"schemathesis cannot read an operation: {result.err()}"
        found.append(result.ok())
    return found


def strategy(schema: BaseSchema, operation: Operation, steering: Steering) -> Cases:
    """Positive, negative, the document's examples and the steered ones, for one operation."""
    found = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.path_parameters or operation.query or operation.headers or operation.body:
        found.append(operation.as_strategy(GenerationMode.NEGATIVE))
    found += schema.get_strategies_from_examples(operation)
    found += [operation.as_strategy(GenerationMode.POSITIVE, **extra) for extra in steering(operation)]
    return st.one_of(found)


def exercise(schema: BaseSchema, base_url: str, per_operation: int, headers: Mapping[str, str] | None = None,
             steering: Steering = no_steering) -> Tally:
    """``per_operation`` generated requests to every operation of ``schema`` at ``base_url`` (with ``headers``:
    the credentials), each answer checked with :data:`CHECKS`; the first failure raises with the request."""
    tally = Tally()
    sent = dict(headers or {})
    with requests.Session() as session:
        for operation in operations(schema):
            tally.operations.append(operation.label)
            _run(operation, strategy(schema, operation, steering), base_url, per_operation, sent, session, tally)
    return tally


def _run(operation: Operation, cases: Cases, base_url: str, examples: int,
         headers: dict[str, str], session: requests.Session, tally: Tally) -> None:
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(cases)
    def one_request(case: Case[Any]) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        tally.requests[operation.label] += 1
        tally.statuses[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS, headers=headers,
                               transport_kwargs={"base_url": base_url, "headers": headers, "session": session})

    one_request()
