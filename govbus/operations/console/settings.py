"""Settings of the operator's console (``govbus run console``): the status settings and where the page is served."""

from __future__ import annotations

from pydantic import Field

from govbus.operations.status_settings import StatusSettings

DEFAULT_CONSOLE_PORT = 9111
"""beside the exporter's 9110"""
HOUR = 3600.0


class ConsoleSettings(StatusSettings):
    """Env ``GOVBUS_CONSOLE_*`` and every ``GOVBUS_STATUS_*`` setting (the console shows what ``govbus status``
    prints, sampled). It listens on 127.0.0.1 unless told otherwise: the page has no login, so put it behind
    the operators' own access control before opening it to a network."""

    console_host: str = Field(default="127.0.0.1", description="address the page listens on (0.0.0.0 in a "
                                                                "container, behind the operators' access control)")
    console_port: int = Field(default=DEFAULT_CONSOLE_PORT, ge=1, le=65535,
                              description="port of the page, /status.json, /history.json and /metrics")
    console_sample_seconds: float = Field(default=15.0, ge=0.2, le=600,
                                          description="seconds between two samples of the bus status")
    console_history_seconds: float = Field(default=HOUR, ge=60, le=86_400,
                                           description="how far back the charts go (the samples kept)")
