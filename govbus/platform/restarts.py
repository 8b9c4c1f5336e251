"""Crash and restart parts of the local platform, as fault tests and the scenario do: SIGKILL a Kafka broker or
the schema registry and start it again with the same data, ports and credentials; stop PostgreSQL as a crash
would (``pg_ctl stop -m immediate``) and start it again. The platform's state file follows every new PID, so
``govbus dev down`` still stops exactly what runs."""

from __future__ import annotations

import json
import shlex
import threading
from dataclasses import asdict, replace
from pathlib import Path

from govbus.exceptions import PlatformError
from govbus.platform import dev, hanging, processes
from govbus.platform.postgres import PrivateCluster, run_pg
from govbus.platform.registry_process import start_registry_process
from govbus.settings import PlatformSettings


def _save(settings: PlatformSettings, state: dev.PlatformState) -> None:
    (settings.dev_dir / "state.json").write_text(json.dumps(asdict(state), indent=2))


def _current(settings: PlatformSettings) -> dev.PlatformState:
    state = dev.load_state(settings)
    if state is None:
        raise PlatformError("the local platform is not running: start it with `govbus dev up`")
    return state


def kill_broker(settings: PlatformSettings, node: int | None = None) -> int:
    """SIGKILL Kafka node ``node`` (default: the platform's last: on a cluster, one that may not hold the
    controller's first vote); its node id."""
    state = _current(settings)
    chosen = node or len(state.broker_pids)
    processes.kill_process(dev.node_pid(settings, chosen))
    return chosen


def restart_broker(settings: PlatformSettings, node: int | None = None, sweep_seconds: float = 180.0) -> float:
    """Start the killed node again on its own data; the seconds until it answered. For ``sweep_seconds`` after,
    a daemon thread ends any transaction the restart left hanging as its coordinator decided
    (:mod:`govbus.platform.hanging`)."""
    state = _current(settings)
    _pid, seconds = dev.restart_node(settings, node or len(state.broker_pids))
    if sweep_seconds > 0:
        threading.Thread(target=hanging.sweep_after_restart, args=(settings, sweep_seconds),
                         name="hanging-transactions", daemon=True).start()
    return seconds


def kill_registry(settings: PlatformSettings) -> int:
    """SIGKILL the registry; its PID."""
    state = _current(settings)
    processes.kill_process(state.registry_pid)
    return state.registry_pid


def restart_registry(settings: PlatformSettings, timeout: float = 60.0) -> int:
    """Start the registry again on its port, with the broker and credentials it had; its new PID."""
    state = _current(settings)
    if processes.is_alive(state.registry_pid):
        processes.kill_process(state.registry_pid)
    port = int(state.registry_url.rsplit(":", 1)[1])
    registry = start_registry_process(
        bootstrap=state.kafka_bootstrap, kafka_env=state.kafka.as_env(), port=port,
        log_path=settings.dev_dir / "registry.log", timeout=timeout,
        credentials_file=Path(state.credentials_file) if state.credentials_file else None)
    _save(settings, replace(state, registry_pid=registry.pid))
    return registry.pid


def crash_postgres(cluster: PrivateCluster) -> None:
    """Stop the cluster at once, as a crash would (no checkpoint; recovery replays the WAL at the next start)."""
    run_pg([str(cluster.bin_dir / "pg_ctl"), "stop", "-D", str(cluster.data_dir), "-m", "immediate", "-w"],
           cluster.run_as)


def start_postgres(cluster: PrivateCluster, timeout: float = 60.0) -> None:
    """Start the cluster again with the data directory, port and options it had (``postmaster.opts``)."""
    words = iter(shlex.split((cluster.data_dir / "postmaster.opts").read_text())[1:])
    options = []
    for word in words:
        if word == "-D":
            next(words, None)  # pg_ctl passes the data directory itself
            continue
        options.append(word)
    run_pg([str(cluster.bin_dir / "pg_ctl"), "start", "-D", str(cluster.data_dir), "-l",
            str(cluster.data_dir.parent / "restart.log"), "-w", "-t", str(int(timeout)), "-o", shlex.join(options)],
           cluster.run_as)
