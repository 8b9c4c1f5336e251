"""A real Prometheus for tests: the shipped configuration pointed at components running on 127.0.0.1, and the
server itself (Debian's ``prometheus``, installed on demand) as a process stopped by PID.

    config = local_config(SHIPPED_CONFIG, {"exporter": "http://127.0.0.1:40123/metrics", ...}, directory,
                          without_delay={"GovbusSourceSilent"})
    with running_prometheus(config, directory) as prometheus:
        prometheus.query('up{job="exporter"} == 1')      # the result vector of /api/v1/query
        prometheus.alerts()                              # /api/v1/alerts

:func:`local_config` changes the shipped file only where a test must:

1. each job's ``static_configs`` targets become the address of the running component of that job's name
   (every job needs one, and every address a job: what the file names is what runs);
2. the scrape and evaluation intervals (global, and a job's own) become ``interval`` (1 s);
3. the ``alerting`` section is dropped (no Alertmanager runs; its compose host name would not resolve);
4. the rule files its ``rule_files`` globs name are copied beside the copy of the configuration, the globs kept,
   and the alerts named in ``without_delay`` get ``for: 0s`` (their durations are minutes; ``promtool test
   rules`` in tests/integration/operations/test_deploy_checks.py covers them).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from govbus.platform import processes
from govbus.platform.components import Component
from govbus.platform.debian import ensure_tool
from testsupport.leftovers import ProcessLedger

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
READY_SECONDS = 30.0


def local_config(shipped: Path, metrics_urls: Mapping[str, str], directory: Path, interval: str = "1s",
                 without_delay: Collection[str] = ()) -> Path:
    """The shipped configuration for the components at ``metrics_urls`` (job name -> /metrics URL), written with
    its rules into ``directory`` (see the module docstring); the path of the configuration written."""
    config: dict[str, Any] = yaml.safe_load(shipped.read_text())
    config["global"].update(scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval)
    config.pop("alerting", None)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    if set(jobs) != set(metrics_urls):
        raise ValueError(f"{shipped} scrapes jobs {sorted(jobs)}; running: {sorted(metrics_urls)}")
    for name, job in jobs.items():
        _point(job, metrics_urls[name], interval)
    directory.mkdir(parents=True, exist_ok=True)
    delayed = set(without_delay)
    for pattern in config.get("rule_files", []):
        for rules in sorted(shipped.parent.glob(pattern)):
            delayed -= _copy_rules(rules, directory / rules.relative_to(shipped.parent), delayed)
    if delayed:
        raise ValueError(f"no alert {sorted(delayed)} in the rule files of {shipped}")
    written = directory / shipped.name
    written.write_text(yaml.safe_dump(config, sort_keys=False))
    return written


def _point(job: dict[str, Any], metrics_url: str, interval: str) -> None:
    """Scrape ``job`` at ``metrics_url`` every ``interval``."""
    if set(job) - {"job_name", "static_configs", "scrape_interval", "scrape_timeout"}:
        raise ValueError(f"job {job['job_name']} has settings local_config does not rewrite: {sorted(job)}")
    url = urlsplit(metrics_url)
    job["static_configs"] = [{"targets": [url.netloc]}]
    if url.scheme != "http":
        job["scheme"] = url.scheme
    if url.path != "/metrics":
        job["metrics_path"] = url.path
    for key in ("scrape_interval", "scrape_timeout"):
        if key in job:
            job[key] = interval


def _copy_rules(source: Path, target: Path, without_delay: Collection[str]) -> set[str]:
    """Copy rule file ``source`` to ``target`` with ``for: 0s`` for the alerts in ``without_delay``; those found."""
    rules: dict[str, Any] = yaml.safe_load(source.read_text())
    found = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in without_delay:
                rule["for"] = "0s"
                found.add(rule["alert"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(rules, sort_keys=False, allow_unicode=True))
    return found


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus and the parts of its HTTP API tests read."""

    url: str
    process: Component

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` gives now (each element: ``metric`` labels and ``value``)."""
        result: list[dict[str, Any]] = self._get("/api/v1/query", {"query": expr})["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Every pending and firing alert (``labels``, ``state``, ``activeAt``...)."""
        alerts: list[dict[str, Any]] = self._get("/api/v1/alerts")["alerts"]
        return alerts

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (``labels``, ``health``, ``lastError``...)."""
        targets: list[dict[str, Any]] = self._get("/api/v1/targets")["activeTargets"]
        return targets

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]


@contextmanager
def running_prometheus(config: Path, directory: Path) -> Iterator[Prometheus]:
    """Prometheus with ``config`` on a free port of 127.0.0.1, its data and log in ``directory``, once it says it
    is ready; stopped by PID (and checked gone) at the end of the block."""
    binary = ensure_tool("prometheus", package="prometheus")
    data, log = directory / "data", directory / "prometheus.log"
    address = f"127.0.0.1:{processes.free_port()}"
    pid = processes.start_process([str(binary), f"--config.file={config}", f"--storage.tsdb.path={data}",
                                   f"--web.listen-address={address}"], log)
    ledger = ProcessLedger()
    ledger.add(pid, f"--storage.tsdb.path={data}", data)
    prometheus = Prometheus(f"http://{address}", Component("prometheus", pid, log))
    try:
        _wait_ready(prometheus)
        yield prometheus
    finally:
        prometheus.process.stop(timeout=15)
        ledger.remove(pid)
        assert not prometheus.process.alive(), f"prometheus (PID {pid}) still runs after SIGTERM and SIGKILL"


def _wait_ready(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if httpx.get(f"{prometheus.url}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not prometheus.process.alive() or time.monotonic() > deadline:
            log = prometheus.process.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"prometheus at {prometheus.url} did not get ready within {READY_SECONDS:.0f} s "
                                 f"(running: {prometheus.process.alive()}); its log:\n{log}")
        time.sleep(0.2)
