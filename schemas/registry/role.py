"""This instance's role: primary (the one writer) or follower.

An instance is primary when it is *elected* (it holds the election partition, see
:mod:`schemas.registry.election`) **and** the last primary announcement in the log is its own.
On being elected it appends a :class:`~schemas.registry.records.PrimaryRecord` with an epoch one
higher than the last it has seen, and waits until it has read that record back: by then it has
applied everything written before it, so it is caught up with the log, and any write a
previous primary makes after that point is ignored by every instance (fencing). Losing the
election makes it a follower at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from schemas.registry.errors import RestError
from schemas.registry.records import PrimaryRecord
from schemas.registry.state import Fence, RegistryState
from schemas.registry.store import KafkaLog

log = logging.getLogger(__name__)

_RETRY_SECONDS = 0.5


class Role:
    """Tracks whether this instance may write, and where the primary is otherwise."""

    def __init__(
        self, state: RegistryState, store: KafkaLog, instance: str, url: str,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._state = state
        self._store = store
        self.instance = instance
        self.url = url
        self._on_change = on_change
        self.elected = False
        self._changed = asyncio.Event()
        self._announcer: asyncio.Task[None] | None = None

    def is_primary(self) -> bool:
        primary = self._state.primary
        return self.elected and primary is not None and primary.instance == self.instance

    def fence(self) -> Fence:
        """The fence this instance's writes carry (only meaningful while primary)."""
        assert self._state.primary is not None
        return self._state.primary.fence

    def primary_url(self) -> str | None:
        """The URL of the primary announced last, unless that is this instance or its address."""
        primary = self._state.primary
        if primary is None or primary.instance == self.instance or primary.url == self.url:
            return None
        return primary.url

    def set_elected(self, elected: bool) -> None:
        """Called on the event loop by the election."""
        if elected == self.elected:
            return
        self.elected = elected
        log.info("election changed", extra={"elected": elected, "instance": self.instance})
        self.notify()

    def notify(self) -> None:
        """Called when the election or the announced primary changes: wake waiting writers and
        (re)announce this instance if it is elected but another one is announced."""
        self._changed.set()
        self._changed = asyncio.Event()
        if self.elected and not self.is_primary() and (self._announcer is None or self._announcer.done()):
            self._announcer = asyncio.get_running_loop().create_task(self._announce())
        if self._on_change is not None:
            self._on_change(self.is_primary())

    async def wait_for_change(self, timeout: float) -> None:
        """Wait until the election or the announced primary changes (or ``timeout``)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass

    async def _announce(self) -> None:
        if self._state.primary is not None:
            await asyncio.sleep(_RETRY_SECONDS / 5)  # let a concurrent claim settle first
        while self.elected and not self.is_primary():
            current = self._state.primary
            record = PrimaryRecord((current.epoch if current else 0) + 1, self.instance, self.url)
            try:
                accepted = (await self._store.append([record], fence=None))[0]
            except RestError as exc:
                log.warning("could not announce this instance as primary", extra={"error": exc.message})
                accepted = False
            if accepted:
                log.info("this instance is now the primary", extra={"epoch": record.epoch, "url": self.url})
                self.notify()
                return
            await asyncio.sleep(_RETRY_SECONDS)

    async def close(self) -> None:
        self.elected = False
        if self._announcer is not None:
            self._announcer.cancel()
