"""What the security tests share: the secured broker they are handed."""

from __future__ import annotations

from dataclasses import dataclass

from govbus.connection import KafkaConnection


@dataclass(frozen=True)
class SecuredBroker:
    bootstrap: str
    admin: KafkaConnection
