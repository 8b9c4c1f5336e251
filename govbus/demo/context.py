"""What every demo step shares: the platform's addresses, this run's topic prefix, logs, output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govbus.catalogue_topics import sync_topics
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import GovbusError, PlatformError
from govbus.platform import credentials, dev
from govbus.settings import PlatformSettings
from schemas.catalogue import load_catalogue
from schemas.catalogue.sync import SchemaSync


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def start_platform(console: Console) -> dev.PlatformState:
    with console.status("starting the local platform (the first run fetches Kafka's jars)..."):
        result = dev.up(PlatformSettings())
    state = result.state
    how = "already running" if result.already_running else f"started in {state.kafka_startup_seconds:.1f} s"
    console.print(f"platform: Kafka {state.kafka_version} at {state.kafka_bootstrap} ({how}), "
                  f"schema registry at {state.registry_url}")
    return state


@dataclass
class DemoContext:
    platform: dev.PlatformState
    run: str
    console: Console
    invalid_share: float

    @property
    def prefix(self) -> str:
        return f"govbus.demo-{self.run}"

    @property
    def kafka(self) -> KafkaConnection:
        return self.platform.kafka

    @property
    def registry(self) -> RegistryConnection:
        return self.platform.registry

    @property
    def logs(self) -> Path:
        return Path(self.platform.data_dir) / f"demo-{self.run}"

    @property
    def secured(self) -> bool:
        """Whether the platform authenticates (then every component the demo starts runs as its own principal)."""
        return self.platform.credentials_file is not None

    def kafka_as(self, key: str) -> KafkaConnection:
        """The broker as principal ``key`` (``department:taxation``); the open platform's anonymous client."""
        entry = self._entry(key)
        return self.kafka.with_credentials(entry["username"], entry["password"]) if entry else self.kafka

    def registry_as(self, key: str) -> RegistryConnection:
        """The registry as principal ``key``; the open registry without credentials on an open platform."""
        entry = self._entry(key)
        if entry is None:
            return self.registry
        return RegistryConnection(url=self.registry.url, username=entry["username"], password=entry["password"])

    def env(self, key: str | None = None) -> dict[str, str]:
        """GOVBUS_* variables for a process the demo starts, authenticating as principal ``key`` (when given
        and the platform is secured; without ``key``, as the administrator)."""
        env = {**self.platform.env(), "GOVBUS_TOPIC_PREFIX": self.prefix}
        entry = self._entry(key) if key else None
        if entry is not None:
            env |= {"GOVBUS_KAFKA__USERNAME": entry["username"], "GOVBUS_KAFKA__PASSWORD": entry["password"],
                    "GOVBUS_REGISTRY__USERNAME": entry["username"], "GOVBUS_REGISTRY__PASSWORD": entry["password"]}
        return env

    def _entry(self, key: str) -> dict[str, str] | None:
        """Principal ``key``'s credentials; None on an open platform. A secured platform without them is an error,
        never a silent fall back to the administrator."""
        if self.platform.credentials_file is None:
            return None
        entry = credentials.load(Path(self.platform.credentials_file)).get(key)
        if entry is None:
            raise PlatformError(f"the platform has no credentials for {key}: `govbus dev principals add {key}`")
        return entry

    def progress(self) -> Progress:
        return progress_bar(self.console)

    def prepare_catalogue(self) -> None:
        """Create every item's topics and register every item's event schema under this run's prefix."""
        catalogue = load_catalogue()
        topics = sync_topics(self.kafka, catalogue.items(), self.prefix, partitions=3)
        report = SchemaSync(self.registry, self.prefix).sync(catalogue.items())
        if not report.ok:
            raise GovbusError("the catalogue's schemas were refused by the registry: run `govbus schemas sync`")
        self.console.print(f"catalogue: {len(catalogue)} data items from {len({i.department for i in catalogue})} "
                           f"departments; {len(topics)} topics under {self.prefix}.*, event schemas registered")
