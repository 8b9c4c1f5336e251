"""Settings of ``govbus status`` (and of the console, which extends them): one model, read where it is built.

``GOVBUS_STATUS_TARGETS`` names the components whose ``/metrics`` the status scrapes, as ``name=url`` pairs
separated by commas or spaces::

    GOVBUS_STATUS_TARGETS="gateway=http://10.0.0.5:9101/metrics, normaliser=http://10.0.0.6:9103/metrics"

``govbus status`` and ``govbus run console`` add the components the local platform started (``govbus dev up``:
its exporter, from ``<home>/dev/state.json``) when that platform's broker is the one ``GOVBUS_KAFKA__BOOTSTRAP``
names (``GOVBUS_STATUS_DEV_PLATFORM=false`` turns that off).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

from govbus.operations.sources import DAY
from govbus.settings import ClientSettings
from govbus.topic_names import DEFAULT_PREFIX, TopicPrefix

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
WEEK = 7 * DAY


class Target(BaseModel):
    """A component whose ``/metrics`` the status scrapes: a plain name and an http(s) URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME.pattern)
    url: str = Field(pattern=r"^https?://\S+$")


def parse_targets(text: str) -> tuple[Target, ...]:
    """``name=url`` pairs separated by commas or white space (an empty text: none); a :class:`ValueError` that
    names the pair to fix."""
    targets = []
    for pair in (part for part in re.split(r"[,\s]+", text.strip()) if part):
        name, equals, url = pair.partition("=")
        if not equals or not _NAME.match(name) or not re.match(r"^https?://\S+$", url):
            raise ValueError(f"{pair!r} is not name=http://host:port/metrics (a name of letters, digits, '.', '_' "
                             "or '-', then '=' and an http or https URL)")
        targets.append(Target(name=name, url=url))
    names = [target.name for target in targets]
    if len(set(names)) != len(names):
        raise ValueError(f"a component is named twice in {names}")
    return tuple(targets)


class StatusSettings(ClientSettings):
    """Env ``GOVBUS_STATUS_*`` (plus ``GOVBUS_KAFKA__*``, ``GOVBUS_REGISTRY__*``, ``GOVBUS_TOPIC_PREFIX``, and the
    silence thresholds the exporter and ``govbus sources silent`` use, so all three judge alike).

    Run as the ``operator`` principal: DESCRIBE on every topic and group, READ on the control and sources
    topics (:mod:`govbus.sharing.processor_access`); it reads no data record.
    """

    topic_prefix: TopicPrefix = DEFAULT_PREFIX
    status_targets: Annotated[tuple[Target, ...], NoDecode] = Field(
        default=(), description="components whose /metrics to scrape: name=url pairs separated by commas, e.g. "
                                "gateway=http://127.0.0.1:9101/metrics")
    status_dev_platform: bool = Field(
        default=True, description="also check the components `govbus dev up` started (its exporter), when its "
                                  "broker is GOVBUS_KAFKA__BOOTSTRAP")
    status_timeout_seconds: float = Field(default=5.0, gt=0, le=120,
                                          description="timeout of each check and of each request to the broker")
    status_grant_warning_days: float = Field(default=WEEK / DAY, ge=0,
                                             description="grants expiring within this many days are listed")
    sources_grace_seconds: float = Field(
        default=DAY, ge=0, description="silence allowed beyond an item's update cycle before its source counts as "
                                       "silent (the same setting as `govbus sources silent`'s)")
    exporter_subscriber_silent_after_seconds: float = Field(
        default=3600.0, gt=0, description="a subscription whose group has not moved for this long while events "
                                          "waited is silent (the same setting as the exporter's)")

    @field_validator("status_targets", mode="before")
    @classmethod
    def _parse_targets(cls, value: Any) -> Any:
        return parse_targets(value) if isinstance(value, str) else value
