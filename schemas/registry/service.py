"""The registry service: wires state, log, election and role, and runs writes.

Reads go straight to :attr:`RegistryService.state`. Writes go through :meth:`write`:

* on the primary, under one asyncio lock (so writes are planned against an up-to-date state
  and applied one at a time), the plan's records are appended to the log and the reply is
  sent once they are acknowledged by Kafka and applied;
* on a follower that knows the primary, :meth:`write` returns :class:`ForwardTo` and the
  HTTP layer relays the request;
* while no primary is known (an election is under way), it waits up to the write timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.registry.election import Election
from schemas.registry.errors import UnknownPrimary
from schemas.registry.metrics import RegistryMetrics
from schemas.registry.records import PrimaryRecord, StoreRecord
from schemas.registry.role import Role
from schemas.registry.settings import RegistrySettings
from schemas.registry.state import Fence, RegistryState
from schemas.registry.store import KafkaLog
from schemas.registry.topics import ensure_topic
from schemas.registry.writes import Plan

log = logging.getLogger(__name__)

Planner = Callable[[RegistryState], Plan]


@dataclass(frozen=True)
class ForwardTo:
    """This instance is a follower: send the write to the primary at ``url``."""

    url: str


class RegistryService:
    """One registry instance: its replayed state and its part in the single-writer scheme."""

    def __init__(self, settings: RegistrySettings, metrics: RegistryMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.state = RegistryState()
        self.instance = uuid.uuid4().hex
        self.store = KafkaLog(
            settings.kafka, settings.registry_topic, self._apply, settings.registry_write_timeout
        )
        self.role = Role(self.state, self.store, self.instance, settings.advertised_url(), metrics.set_primary)
        self.election = Election(
            settings.kafka, settings.election_group(), settings.election_topic(),
            settings.registry_session_timeout_ms, self.role.set_elected,
        )
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Create the topics if needed, replay the log, then join the election."""
        s = self.settings
        replication = s.registry_topic_replication
        compacted = {"cleanup.policy": "compact"}
        timeout = min(30.0, s.registry_startup_timeout)
        for topic, config in ((s.registry_topic, compacted), (s.election_topic(), {})):
            await asyncio.to_thread(ensure_topic, s.kafka, topic, config, replication, timeout)
        await self.store.start(s.registry_startup_timeout)
        self.election.start()

    async def leave_election(self) -> None:
        """Stop being (or becoming) primary; another instance takes over without waiting."""
        await self.role.close()
        await self.election.stop()

    async def close(self) -> None:
        await self.leave_election()
        await self.store.close()

    def _apply(self, record: StoreRecord, fence: Fence | None) -> bool:
        accepted = self.state.apply(record, fence)
        if accepted and isinstance(record, PrimaryRecord):
            log.info("primary announced", extra={"epoch": record.epoch, "url": record.url})
            self.role.notify()
        return accepted

    async def write(self, planner: Planner, forwarded: bool) -> Any:
        """Run a write here if primary; else :class:`ForwardTo` the primary, or wait for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.registry_write_timeout
        while True:
            if self.role.is_primary():
                return await self._write_here(planner)
            target = self.role.primary_url()
            if target is not None and not self.role.elected and not forwarded:
                return ForwardTo(target)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise UnknownPrimary(self._no_primary_message(target))
            await self.role.wait_for_change(min(remaining, 1.0))

    def _no_primary_message(self, target: str | None) -> str:
        where = f"The last announced primary is {target}." if target else "No primary has been announced yet."
        return (
            f"No primary registry instance accepted the write within {self.settings.registry_write_timeout:.0f} s. "
            f"{where} Retry shortly: a primary is elected through consumer group "
            f"'{self.settings.election_group()}'."
        )

    async def _write_here(self, planner: Planner) -> Any:
        async with self._lock:
            if not self.role.is_primary():
                raise UnknownPrimary("This instance stopped being the primary before the write; retry.")
            plan = planner(self.state)
            if plan.records:
                accepted = await self.store.append(plan.records, self.role.fence())
                if not all(accepted):
                    raise UnknownPrimary(
                        "This instance lost the primary role during the write, which was not (fully) "
                        "applied; retry."
                    )
            if plan.new_version:
                self.metrics.schemas_registered.inc()
            if plan.records:
                kinds = [type(r).__name__ for r in plan.records]
                log.info("write applied", extra={"records": kinds, "reply": plan.reply})
            return plan.reply
