"""At-least-once consumption: a record's offset is committed only after its handler succeeded.

A handler that raises :class:`govbus.exceptions.DeliveryError` is retried with exponential
backoff and jitter until it succeeds or the consumer is asked to stop; then the offset is not
committed and the record is consumed again by whoever owns the partition next. Any other
exception stops the consumer (a bug must not be skipped over silently).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, Message
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from govbus.exceptions import DeliveryError, GovbusError

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


class CommittingConsumer:
    """Polls ``topics`` and hands each record to ``handler``, committing after success."""

    def __init__(self, consumer: Consumer, topics: list[str], handler: Handler,
                 retry: RetryPolicy | None = None) -> None:
        self._consumer = consumer
        self._topics = topics
        self._handler = handler
        self._retry = retry or RetryPolicy()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Consume until :meth:`stop`; close the consumer (leaving the group) on the way out."""
        self._consumer.subscribe(self._topics)
        try:
            while not self._stop.is_set():
                message = self._consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    self._on_error(message)
                    continue
                try:
                    self._handle_with_retries(message)
                except StoppedWhileRetrying:
                    break
                self._consumer.commit(message=message, asynchronous=False)
        finally:
            self._consumer.close()

    def _on_error(self, message: Message) -> None:
        error = message.error()
        if error is None:
            return
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise GovbusError(f"Kafka consumer failed: {error.str()}")
        log.warning("consumer error", extra={"error": error.str()})

    def _handle_with_retries(self, message: Message) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(DeliveryError),
            wait=wait_exponential_jitter(self._retry.initial_seconds, self._retry.max_seconds,
                                         jitter=self._retry.jitter_seconds),
            stop=lambda _state: self._stop.is_set(),
            sleep=self._interruptible_sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            retrying(self._handler, message)
        except DeliveryError as error:
            raise StoppedWhileRetrying(f"stopped while retrying offset {message.offset()}: {error}") from error

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("handler failed; retrying", extra={"attempt": state.attempt_number, "error": str(error)})
