"""The README's demo, as a newcomer runs it: its own platform (private home, free ports), every path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from govbus.platform.processes import free_port
from testsupport.connections import without_session


def test_demo_prints_what_flowed_where_and_why(tmp_path: Path) -> None:
    env = {**without_session(dict(os.environ)), "GOVBUS_HOME": str(tmp_path / "home"),
           "GOVBUS_KAFKA_PORT": str(free_port()), "GOVBUS_CONTROLLER_PORT": str(free_port()),
           "GOVBUS_REGISTRY_PORT": str(free_port())}
    try:
        demo = subprocess.run([sys.executable, "-m", "govbus.cli", "demo", "--records", "60"], env=env,
                              capture_output=True, text=True, timeout=600, check=False)
    finally:
        subprocess.run([sys.executable, "-m", "govbus.cli", "dev", "down"], env=env, capture_output=True,
                       timeout=120, check=False)
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-3000:]
    for heading in ("Departments publishing: every path", "What flowed where", "What was rejected, and why",
                    "Normalised: what was fixed", "Dead letters of the normaliser", "Profiles joined"):
        assert heading in output
    for path in ("Python SDK", "bulk CSV file", "HTTP gateway", "PostgreSQL outbox"):
        assert re.search(rf"{path}\s+│\s+\w+\s+│\s+\d+\s+│\s+[1-9]\d*\s+│", output), f"{path} accepted nothing"
    assert re.search(r"applied twice by the subscriber\s+│\s+subscriber\s+│\s+0\s+│", output)
    # the walking skeleton through the real normaliser: 60 published + 2 undecodable, every canonical one delivered
    assert re.search(r"processed by the normaliser\s+│[^│]+│\s+62\s+│", output)
    canonical = re.search(r"valid, written canonical\s+│\s+canonical topic\s+│\s+(\d+)\s+│", output)
    delivered = re.search(r"delivered \(2xx, then offset committed\)\s+│\s+subscriber\s+│\s+(\d+)\s+│", output)
    assert canonical and delivered and int(canonical[1]) == int(delivered[1]) > 0
    assert "uscc.check_character" in output and "wire_format" in output
    assert "did not finish in time" not in output and "could not run" not in output
    assert re.search(r"profile\.person\s+│\s+[1-9]\d*\s+│", output), "no person profile was joined"
    assert "Subscribers, live" in output and re.search(r"[1-9]\d* disclosures", output)
    assert re.search(r"taxpayer_resident_id \d{6}\*{8}[\dX]{4}", output), "the granted mask was not shown"
