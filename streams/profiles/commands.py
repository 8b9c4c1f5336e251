"""Bodies of ``govbus streams profiles`` (the click command lives in :mod:`govbus.cli`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from govbus.exceptions import ConfigurationError
from govbus.preflight import require_broker, require_platform
from schemas.catalogue.profiles import PROFILE_NAMES
from streams.profiles.topology import ProfileSettings, ensure_profile_topics
from streams.profiles.worker import run_worker


def profile_settings(profiles: str | None, metrics_port: int | None) -> ProfileSettings:
    """Settings from GOVBUS_* variables, with the command line's choices on top."""
    overrides: dict[str, Any] = {}
    if profiles:
        names = tuple(name.strip() for name in profiles.split(",") if name.strip())
        unknown = [name for name in names if name not in PROFILE_NAMES]
        if unknown or not names:
            raise ConfigurationError(f"unknown profiles {unknown or profiles!r}; known: {', '.join(PROFILE_NAMES)}")
        overrides["profiles_names"] = names
    if metrics_port is not None:
        overrides["profiles_metrics_port"] = metrics_port
    return ProfileSettings(**overrides)


def create_profile_topics(profiles: str | None, console: Console) -> None:
    """Create (or check) every topic of the profile builder and list them."""
    settings = profile_settings(profiles, None)  # its own inputs first, then the broker
    require_broker(settings.kafka.bootstrap)
    specs = ensure_profile_topics(settings)
    for spec in specs:
        policy = spec.config.get("cleanup.policy", "delete")
        console.print(f"{spec.name}  partitions={spec.partitions}  {policy}", highlight=False)
    console.print(f"{len(specs)} topics ready")


def run_profiles(profiles: str | None, metrics_port: int | None) -> None:
    """Run the profile builder until SIGTERM."""

    settings = profile_settings(profiles, metrics_port)  # its own inputs first, then the platform
    require_platform(settings)
    run_worker(settings)
