"""The README's demo, as a newcomer runs it: its own platform (private home, free ports), every path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from govbus import clients
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.platform.processes import free_port
from govbus.topic_reader import read_topics
from testsupport.connections import without_session
from testsupport.personal_scan import personal_values, published_personal, shown, values_in


def test_demo_prints_what_flowed_where_and_why(tmp_path: Path) -> None:
    env = {**without_session(dict(os.environ)), "GOVBUS_HOME": str(tmp_path / "home"),
           "GOVBUS_KAFKA_PORT": str(free_port()), "GOVBUS_CONTROLLER_PORT": str(free_port()),
           "GOVBUS_REGISTRY_PORT": str(free_port())}
    try:
        demo = subprocess.run([sys.executable, "-m", "govbus.cli", "demo", "--records", "60"], env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        headers, published = _dead_letter_headers_and_published(env)
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
    assert "taxpayer_name in clear" in output, "the grant that unmasks the name was not applied"

    # no personal value in anything the run wrote outside granted deliveries: its logs, files and tables, what it
    # printed, the dead letters' reason headers (the receivers' deliveries are in memory, not written). Looked
    # for: every valid resident identity number, and every value of a personal field the departments published
    # (names, phones, addresses, nested holders), read back from their topics.
    home = Path(env["GOVBUS_HOME"])
    storage = home / "dev" / "kafka" / "kraft-logs"  # the broker's storage: the records themselves
    written = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in home.rglob("*")
               if p.is_file() and p.suffix in (".log", ".json", ".out", ".csv", ".txt")
               and storage not in p.parents and p.name != "degrees.csv"}  # (the department's own export)
    written |= {"output": output, "dead-letter headers": headers}
    assert headers, "the dead letters' headers were read"
    assert len(published) > 100, f"only {len(published)} personal values were read back from the topics"
    leaks = {where: found for where, text in written.items()
             if (found := personal_values(text) | values_in(text, published))}
    where = {place: [shown(written[place], value) for value in sorted(values)] for place, values in leaks.items()}
    leaked = bool(leaks)  # (asserting on the dict itself would print the values)
    assert not leaked, f"personal values written outside granted deliveries: {where}"


def _dead_letter_headers_and_published(env: dict[str, str]) -> tuple[str, set[str]]:
    """Every header of every dead letter the run's demo wrote, as text, and the personal values departments
    published (read as the platform's administrator)."""
    status = json.loads(subprocess.run([sys.executable, "-m", "govbus.cli", "dev", "status", "--json"], env=env,
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
    admin = json.loads(Path(status["security"]["credentials_file"]).read_text())["admin"]
    kafka = KafkaConnection(bootstrap=status["kafka_bootstrap"]).with_credentials(admin["username"], admin["password"])
    listed = clients.admin(kafka).list_topics(timeout=30).topics
    messages = read_topics(kafka, [t for t in listed if ".dead-letter." in t])
    headers = "\n".join(f"{name}={(value or b'').decode(errors='replace')}"
                        for read in messages.values() for message in read for name, value in message.headers() or [])
    registry = clients.registry_client(RegistryConnection(url=status["registry_url"], username=admin["username"],
                                                          password=admin["password"]))
    published = published_personal(kafka, registry, [t for t in listed if any(
        kind in t for kind in (".dept.", ".local.", ".canonical."))])
    return headers, published
