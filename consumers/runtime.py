"""Helpers of the sink runtime (:mod:`consumers.sink`): consumer options, retries, record-by-record handling.

A handler that raises :class:`govbus.exceptions.DeliveryError` is retried with exponential
backoff and jitter until it succeeds or the runtime is asked to stop; then nothing of its batch is
committed and the records are consumed again by whoever owns the partition next. Any other
exception stops the runtime (a bug must not be skipped over silently).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import Message
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from consumers.sink import Batch
from govbus.exceptions import DecodeError, DeliveryError, GovbusError

log = logging.getLogger(__name__)


class KafkaMessage(Protocol):
    """What handlers read of a message (confluent_kafka.Message satisfies it)."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


Handler = Callable[[KafkaMessage], None]


@dataclass(frozen=True)
class RetryPolicy:
    initial_seconds: float = 0.2
    max_seconds: float = 10.0
    jitter_seconds: float = 0.5


class StoppedWhileRetrying(GovbusError):
    """The consumer was stopped before a failing record could be handled."""


def sink_options(**overrides: str | int | bool) -> dict[str, object]:
    """Consumer options (beside the connection, see :func:`govbus.clients.consumer`) for commit-after-handling."""
    return {
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 300000,
        **overrides,
    }


class RecordByRecord:
    """A :class:`~consumers.sink.Sink` that hands the records of each batch to ``handler`` one at a time, in
    order; a :class:`DeliveryError` is retried with backoff until it succeeds or ``stopping`` is set
    (then :class:`StoppedWhileRetrying`: the batch stays uncommitted and is handled again, from its first
    record, by whoever owns the partition next). A record that cannot be decoded is rejected to the
    runtime's policy for bad records."""

    def __init__(self, topics: list[str], handler: Handler, retry: RetryPolicy, stopping: threading.Event) -> None:
        self._topics = topics
        self._handler = handler
        self._retry = retry
        self._stopping = stopping

    def topics(self) -> list[str]:
        return self._topics

    def handle(self, batch: Batch) -> None:
        for message in batch.messages:
            try:
                self._handle_with_retries(message)
            except DecodeError as error:
                batch.reject(message, f"undecodable: {error}")

    def _handle_with_retries(self, message: Message) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(DeliveryError),
            wait=wait_exponential_jitter(self._retry.initial_seconds, self._retry.max_seconds,
                                         jitter=self._retry.jitter_seconds),
            stop=lambda _state: self._stopping.is_set(),
            sleep=self._interruptible_sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            retrying(self._handler, message)
        except DeliveryError as error:
            raise StoppedWhileRetrying(f"stopped while retrying offset {message.offset()}: {error}") from error

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("handler failed; retrying", extra={"attempt": state.attempt_number, "error": str(error)})
