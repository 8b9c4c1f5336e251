"""The sender's retry policy against scripted answers (httpx.MockTransport, no network)."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import itertools
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry
from standardwebhooks.webhooks import Webhook

from connectors.webhook.metrics import WebhookMetrics
from connectors.webhook.sender import Request, RetryPolicy, Sender, retry_after_seconds
from connectors.webhook.signing import Signer
from consumers.runtime import StoppedWhileRetrying

FAST = RetryPolicy(max_attempts=3, max_throttled_attempts=4, initial_seconds=0.01, max_seconds=0.02,
                   jitter_seconds=0.0, retry_after_max_seconds=5)
REQUEST = Request("http://receiver.test/events", b'{"events":[]}', "batch-1", 0)
SECRET = "whsec_" + "czNjcmV0" * 4  # base64 of 24 bytes


def _sender(answers: Callable[[httpx.Request], httpx.Response], policy: RetryPolicy = FAST,
            stopping: threading.Event | None = None) -> tuple[Sender, CollectorRegistry]:
    collector = CollectorRegistry()
    client = httpx.Client(transport=httpx.MockTransport(answers))
    sender = Sender(client, Signer((base64.b64decode(SECRET[6:]),)), policy, WebhookMetrics(collector, "sub"),
                    stopping or threading.Event())
    return sender, collector


def _scripted(*statuses: int, headers: dict[str, str] | None = None) -> tuple[Callable[..., httpx.Response], list]:
    seen: list[tuple[float, httpx.Request]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((time.monotonic(), request))
        status = statuses[min(len(seen), len(statuses)) - 1]
        return httpx.Response(status, headers=headers if status >= 400 else None)

    return answer, seen


def test_failures_are_retried_until_a_2xx_and_every_attempt_is_signed() -> None:
    answer, seen = _scripted(503, 500, 200)
    sender, collector = _sender(answer)
    result = sender.send(lambda: REQUEST)
    assert result.delivered and result.attempts == 3 and result.failures == ["503", "500"]
    for _, request in seen:  # each attempt signed afresh, every one with the batch's id
        assert request.headers["Idempotency-Key"] == request.headers["webhook-id"] == "batch-1"
        assert Webhook(SECRET).verify(request.content, dict(request.headers)) == {"events": []}
    value = collector.get_sample_value("govbus_webhook_failed_attempts_total", {"subscription": "sub", "reason": "503"})
    assert value == 1


def test_after_max_attempts_the_batch_gives_up_with_the_reason() -> None:
    answer, seen = _scripted(500)
    result = _sender(answer)[0].send(lambda: REQUEST)
    assert not result.delivered and result.attempts == 3 and len(seen) == 3
    assert result.reason is not None and "answered 500" in result.reason and "3 attempts" in result.reason


def test_a_timeout_is_a_failed_attempt() -> None:
    calls = []

    def hang(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("receiver hung", request=request)
        return httpx.Response(200)

    result = _sender(hang)[0].send(lambda: REQUEST)
    assert result.delivered and result.failures == ["timeout"]


def test_retry_after_is_waited_instead_of_the_backoff_and_429_has_its_own_budget() -> None:
    answer, seen = _scripted(429, 429, 429, 200, headers={"Retry-After": "1"})
    started = time.monotonic()
    result = _sender(answer)[0].send(lambda: REQUEST)
    assert result.delivered and result.attempts == 4  # three 429s do not exhaust max_attempts=3
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert all(gap >= 0.99 for gap in gaps) and time.monotonic() - started < 5


def test_retry_after_is_capped() -> None:
    answer, _ = _scripted(503, 200, headers={"Retry-After": "3600"})
    policy = RetryPolicy(3, 3, 0.01, 0.02, 0.0, retry_after_max_seconds=0.2)
    started = time.monotonic()
    assert _sender(answer, policy)[0].send(lambda: REQUEST).delivered
    assert 0.19 < time.monotonic() - started < 2


def test_endless_429s_end_after_their_budget() -> None:
    answer, seen = _scripted(429, headers={"Retry-After": "0"})
    result = _sender(answer)[0].send(lambda: REQUEST)
    assert not result.delivered and len(seen) == 4 and "4 throttled" in (result.reason or "")


def test_stopping_during_a_wait_raises_instead_of_parking() -> None:
    stopping = threading.Event()
    answer, _ = _scripted(503, headers={"Retry-After": "30"})
    threading.Timer(0.2, stopping.set).start()
    started = time.monotonic()
    with pytest.raises(StoppedWhileRetrying):
        _sender(answer, stopping=stopping)[0].send(lambda: REQUEST)
    assert time.monotonic() - started < 5


def test_prepare_returning_nothing_ends_the_batch_without_sending() -> None:
    answer, seen = _scripted(503, 200)
    requests = iter([REQUEST, None])
    result = _sender(answer)[0].send(lambda: next(requests))
    assert not result.delivered and result.reason is None and len(seen) == 1


@pytest.mark.parametrize(("value", "expected"), [("7", 7.0), (" 0 ", 0.0), (None, None), ("", None), ("soon", None),
                                                 ("-3", None)])
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date() -> None:
    now = dt.datetime(2026, 11, 23, 2, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=42), usegmt=True)
    assert retry_after_seconds(later, now) == 42
    assert retry_after_seconds(email.utils.format_datetime(now - dt.timedelta(seconds=5), usegmt=True), now) == 0
