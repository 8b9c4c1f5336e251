"""A test session killed before its teardown leaves its broker and registry running; the next
session stops them (by PID, only if the command line still matches) and deletes their data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from govbus.platform.processes import is_alive, start_process, stop_process
from testsupport.leftovers import ProcessLedger, stop_leftovers

SLEEPER = "import time; time.sleep(120)"


def _gone_pid() -> int:
    """The PID of a process that has exited (the killed session)."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    return int(finished.stdout)


def test_leftovers_of_a_killed_session_are_stopped_and_others_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "ledger"
    data_dir = tmp_path / "kafka-data"
    data_dir.mkdir()
    broker_like = start_process([sys.executable, "-c", SLEEPER, "kafka.Kafka"], tmp_path / "a.log")
    reused_pid = start_process([sys.executable, "-c", SLEEPER, "something-else"], tmp_path / "b.log")
    live_session = start_process([sys.executable, "-c", SLEEPER], tmp_path / "c.log")
    live_sessions_broker = start_process([sys.executable, "-c", SLEEPER, "kafka.Kafka"], tmp_path / "d.log")
    try:
        killed = ProcessLedger(directory, owner=_gone_pid())
        killed.add(broker_like, "kafka.Kafka", data_dir)
        killed.add(reused_pid, "schemas.registry")  # the PID now belongs to another program
        running = ProcessLedger(directory, owner=live_session)
        running.add(live_sessions_broker, "kafka.Kafka")

        stopped = stop_leftovers(directory)

        assert [entry.pid for entry in stopped] == [broker_like]
        assert not is_alive(broker_like) and not data_dir.exists() and not killed.path.exists()
        assert is_alive(reused_pid), "a PID whose command line lacks the marker is not ours any more"
        assert is_alive(live_sessions_broker) and running.path.exists(), "a live session's processes stay"
        running.remove(live_sessions_broker)
        assert not running.path.exists()
    finally:
        for pid in (broker_like, reused_pid, live_session, live_sessions_broker):
            stop_process(pid, timeout=5)
