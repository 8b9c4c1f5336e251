"""What a scenario run is asked to do, and where its data goes (the files are described in FORMAT.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bench.scenario.streams_plan import PATHS
from govbus.exceptions import ConfigurationError

FAULTS = ("broker-kill", "normaliser-kill", "profiles-kill", "outbox-kill", "gateway-kill", "webhook-kill",
          "mirror-kill", "feed-kill", "kafka-subscriber-kill", "receiver-down", "receiver-429", "postgres-restart",
          "registry-restart")
"""Every fault a run can inject (one per run); ``--fault`` takes one of them."""


class ScenarioSpec(BaseModel):
    """A run's parameters: the same seed and parameters publish the same records in the same order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=2017, description="seed of every generated record, key and choice")
    rate: float = Field(default=100.0, gt=0, le=20_000, description="records a second, all departments together")
    duration_s: float = Field(default=60.0, gt=0, le=7_200, description="seconds of publishing")
    invalid_share: float = Field(default=0.05, ge=0, le=0.5, description="share of records made invalid on purpose")
    resend_share: float = Field(default=0.03, ge=0, le=0.5,
                                description="share of local-dialect events sent twice (a re-send after a time-out)")
    revoke_at: float = Field(default=0.5, gt=0, lt=1, description="when the revoked subscriber's grant is revoked, "
                             "as a share of the publishing time")
    mix: dict[str, float] = Field(default_factory=dict, description="weight of each publishing path (sdk, bulk, "
                                  "gateway, outbox, dialect) against the others; a path not named weighs 1")
    fault: str | None = Field(default=None, description=f"one of {', '.join(FAULTS)}")
    fault_at: float = Field(default=0.3, gt=0, lt=1, description="when the fault is injected, as a share of the "
                            "publishing time")
    workers: int = Field(default=2, ge=1, le=4, description="workers per stream processor")
    sample_every: float = Field(default=5.0, gt=0, description="seconds between two samples of memory and lag")
    drain_timeout_s: float = Field(default=240.0, gt=0, description="how long the run waits, after publishing, for "
                                   "every subscriber to catch up")

    def model_post_init(self, _context: Any) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}: choose one of {', '.join(FAULTS)}")
        unknown = set(self.mix) - set(PATHS)
        if unknown or any(weight < 0 for weight in self.mix.values()) or (self.mix and not any(
                self.mix.get(path, 1.0) for path in PATHS)):
            raise ValueError(f"a mix names paths among {', '.join(PATHS)} with weights >= 0, not all 0 "
                             f"(e.g. sdk=2,outbox=0)")

    def weight(self, path: str) -> float:
        return self.mix.get(path, 1.0)


@dataclass(frozen=True)
class RunFiles:
    """The files of one run's directory (FORMAT.md)."""

    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.jsonl"

    @property
    def samples(self) -> Path:
        return self.root / "samples.jsonl"

    @property
    def faults(self) -> Path:
        return self.root / "faults.jsonl"

    @property
    def restarts(self) -> Path:
        """The processes the supervisor started again after they exited by themselves."""
        return self.root / "restarts.jsonl"

    @property
    def check(self) -> Path:
        return self.root / "check.json"

    @property
    def deliveries(self) -> Path:
        return self.root / "deliveries"

    @property
    def holdings(self) -> Path:
        """What the run read from subscribers that keep state (the mirror's tables, the feed's pages) and from the
        outbox's rejections, before it stopped them."""
        return self.root / "holdings"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def delivery_file(self, subscriber: str) -> Path:
        return self.deliveries / f"{subscriber}.jsonl"

    def read_spec(self) -> dict[str, Any]:
        if not self.spec.is_file():
            raise ConfigurationError(f"{self.root} is not a scenario run (no spec.json): give the directory "
                                     "`govbus scenario run` wrote (its --out, or <home>/scenario/<run id>)")
        result: dict[str, Any] = json.loads(self.spec.read_text(encoding="utf-8"))
        return result


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every JSON line of ``path`` ([] when it does not exist); a torn last line (a killed writer) is skipped."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found
