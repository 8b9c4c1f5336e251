"""Consumer lag per partition: the high watermark minus the committed offset (or the position).

Measured from the faust consumer itself on a timer: ``highwaters()`` asks the broker for the end
offsets of the assigned source partitions; the committed offset is what the worker last
committed (faust commits every ``broker_commit_interval``), or, before its first commit on a
partition, the consumer's position. Changelog partitions the worker also reads are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol


class LagSource(Protocol):
    """What lag needs of a faust consumer (``app.consumer``)."""

    def assignment(self) -> Any: ...

    async def highwaters(self, *partitions: Any) -> Mapping[Any, int]: ...

    async def position(self, tp: Any) -> int | None: ...


def lag_of(highwater: int | None, committed: int | None, position: int | None) -> int:
    """Records not yet committed: ``highwater - committed`` (else ``- position``), never negative."""
    if highwater is None:
        return 0
    done = committed if committed is not None else position
    return max(0, highwater - (done or 0))


async def consumer_lag(consumer: LagSource, topics: Collection[str]) -> dict[tuple[str, int], int]:
    """Lag of every assigned partition of ``topics``, keyed by ``(topic, partition)``."""
    partitions = sorted((tp for tp in consumer.assignment() if tp.topic in topics), key=lambda tp: tuple(tp))
    if not partitions:
        return {}
    highwaters = await consumer.highwaters(*partitions)
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})  # faust keeps its commits here
    lags = {}
    for tp in partitions:
        done = committed.get(tp)
        position = None if done is not None else await consumer.position(tp)
        lags[(tp.topic, tp.partition)] = lag_of(highwaters.get(tp), done, position)
    return lags
