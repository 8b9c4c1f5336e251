"""One batch to one receiver: POST, signed, retried with backoff and jitter until a 2xx or the budget ends.

- Any answer but 2xx, a timeout and a transport error is a failed attempt.
- ``Retry-After`` (seconds or an HTTP date) is waited as given, up to a cap, instead of the backoff;
  429 answers count against their own, larger budget, as a throttling receiver is healthy.
- Otherwise the wait is exponential (initial, doubling, capped) plus random jitter (tenacity).
- Each attempt is prepared afresh (``prepare``): the connector re-checks the grants and may drop
  events whose item is no longer authorised; each attempt is signed afresh (Standard Webhooks,
  :mod:`connectors.webhook.signing`), its ``webhook-id`` the batch key, the same on every attempt.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from connectors.webhook.exceptions import AttemptFailed
from connectors.webhook.metrics import WebhookMetrics
from connectors.webhook.signing import Signer
from consumers.runtime import StoppedWhileRetrying

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_throttled_attempts: int = 30
    initial_seconds: float = 0.25
    max_seconds: float = 10.0
    jitter_seconds: float = 0.5
    retry_after_max_seconds: float = 60.0


@dataclass(frozen=True)
class Request:
    """One batch ready to POST."""

    url: str
    body: bytes
    batch_key: str
    events: int


@dataclass
class SendResult:
    """``delivered``: a 2xx came; else ``reason`` says why the batch gave up (``None``: nothing left to send)."""

    delivered: bool
    attempts: int = 0
    reason: str | None = None
    failures: list[str] = field(default_factory=list)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; ``None`` if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class _Budget:
    """Failed and throttled attempts of one batch, and the wait before the next."""

    def __init__(self, policy: RetryPolicy, stopping: threading.Event) -> None:
        self._policy = policy
        self._stopping = stopping
        self.failed = 0
        self.throttled = 0
        self._backoff = (wait_exponential(multiplier=policy.initial_seconds, max=policy.max_seconds)
                         + wait_random(0, policy.jitter_seconds))

    def count(self, failure: AttemptFailed) -> None:
        if failure.throttled:
            self.throttled += 1
        else:
            self.failed += 1

    def exhausted(self, _state: RetryCallState) -> bool:
        return (self._stopping.is_set() or self.failed >= self._policy.max_attempts
                or self.throttled >= self._policy.max_throttled_attempts)

    def wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, AttemptFailed) and failure.retry_after is not None:
            if failure.retry_after > self._policy.retry_after_max_seconds:
                log.warning("Retry-After longer than the cap; waiting the cap",
                            extra={"retry_after": failure.retry_after, "cap": self._policy.retry_after_max_seconds})
            return min(failure.retry_after, self._policy.retry_after_max_seconds)
        return float(self._backoff(state))


class Sender:
    """POSTs batches to receivers with ``client``; signs each attempt with ``signer``."""

    def __init__(self, client: httpx.Client, signer: Signer, policy: RetryPolicy, metrics: WebhookMetrics,
                 stopping: threading.Event) -> None:
        self._client = client
        self._signer = signer
        self._policy = policy
        self._metrics = metrics
        self._stopping = stopping

    def send(self, prepare: Callable[[], Request | None]) -> SendResult:
        """Deliver what ``prepare`` returns before each attempt; raise StoppedWhileRetrying on shutdown."""
        budget = _Budget(self._policy, self._stopping)
        result = SendResult(delivered=False)
        retrying = Retrying(retry=retry_if_exception_type(AttemptFailed), stop=budget.exhausted, wait=budget.wait,
                            sleep=self._sleep, before_sleep=_log_retry, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    request = prepare()
                    if request is None:
                        return result
                    result.attempts += 1
                    try:
                        self._post(request)
                    except AttemptFailed as failure:
                        budget.count(failure)
                        result.failures.append(failure.reason)
                        raise
        except AttemptFailed as failure:
            if self._stopping.is_set():
                raise StoppedWhileRetrying(f"stopped while retrying a batch: {failure}") from failure
            result.reason = (f"no 2xx after {result.attempts} attempts ({budget.failed} failed, "
                             f"{budget.throttled} throttled); last: {failure}")
            return result
        result.delivered = True
        return result

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise StoppedWhileRetrying("stopped while waiting to retry a batch")

    def _post(self, request: Request) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": request.batch_key,
                   "X-Govbus-Event-Count": str(request.events),
                   **self._signer.headers(request.batch_key, request.body)}
        started = time.perf_counter()
        try:
            response = self._client.post(request.url, content=request.body, headers=headers)
        except httpx.TimeoutException as error:
            raise self._failed("timeout", f"POST {request.url} timed out: {error!r}") from error
        except httpx.ConnectError as error:
            raise self._failed("connect", f"POST {request.url} could not connect: {error!r}") from error
        except httpx.HTTPError as error:
            raise self._failed(type(error).__name__, f"POST {request.url} failed: {error!r}") from error
        if not response.is_success:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise self._failed(str(response.status_code), f"POST {request.url} answered {response.status_code}",
                               wait)
        self._metrics.request_seconds.observe(time.perf_counter() - started)

    def _failed(self, reason: str, detail: str, retry_after: float | None = None) -> AttemptFailed:
        self._metrics.failed_attempt(reason)
        return AttemptFailed(reason, detail, retry_after)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("batch not delivered; retrying", extra={"attempt": state.attempt_number, "error": str(error),
                                                         "wait": round(state.upcoming_sleep, 3)})
