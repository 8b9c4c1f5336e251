"""The README's "Sharing" walk-through, run line by line as written, with the files in examples/, against the
real broker: every command succeeds (the subscription is authorised under the example grant), the grant and
the subscription are listed and shown, and the delivery connector starts, holds and stops cleanly on SIGTERM.
Delivery itself is proven by the webhook tests."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from connectors.webhook.signing_secrets import new_secret

ROOT = Path(__file__).resolve().parents[3]


def walkthrough() -> list[str]:
    """The command lines of the README's Sharing section, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Sharing: a grant, a subscription"):]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the Sharing section has no bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


STARTED = "webhook connector started"
"""What the connector logs once its SIGTERM handler is in place."""


@pytest.fixture
def env(kafka_bootstrap: str, registry_url: str) -> dict[str, str]:
    return {**os.environ, "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_REGISTRY__URL": registry_url,
            "GOVBUS_TOPIC_PREFIX": f"govbus.walk-{uuid.uuid4().hex[:8]}", "HZ_SECRET": new_secret(),
            "COLUMNS": "200"}


def _argv(line: str) -> list[str]:
    words = [word for word in shlex.split(line) if "=" not in word.split("/")[0] or word.startswith("--")]
    assert words[0] == "govbus", line
    return [sys.executable, "-m", "govbus.cli", *words[1:]]


def test_the_sharing_walkthrough_runs_as_written(env: dict[str, str]) -> None:
    lines = walkthrough()
    assert any(" run " in f" {line} " for line in lines) and len(lines) >= 6
    setup = subprocess.run([sys.executable, "-m", "govbus.cli", "topics", "sync", "--catalogue-only"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    outputs = {}
    for line in lines:
        if " run " in f" {line} ":  # runs until SIGTERM: it must start, hold, and stop cleanly
            worker = subprocess.Popen(_argv(line), env={**env, "GOVBUS_LOG_LEVEL": "INFO"}, cwd=ROOT,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            lines_read: list[str] = []
            reader = threading.Thread(target=lines_read.extend, args=(worker.stdout or [],), daemon=True)
            reader.start()
            deadline = time.monotonic() + 90  # started: its signal handlers are in place (a loaded machine is slow)
            while not any(STARTED in read for read in lines_read) and worker.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(3)  # holds
            still = worker.poll() is None
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
            reader.join(timeout=10)
            output = "".join(lines_read)
            assert STARTED in output, f"`{line}` did not say it started:\n{output[-2000:]}"
            assert still, f"`{line}` stopped by itself:\n{output[-2000:]}"
            assert worker.returncode == 0, f"`{line}` exited {worker.returncode} on SIGTERM:\n{output[-2000:]}"
            continue
        done = subprocess.run(_argv(line), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        outputs[line] = done.stdout + done.stderr
        assert done.returncode == 0, f"`{line}` exited {done.returncode}:\n{outputs[line][-2000:]}"
    shown = next(output for line, output in outputs.items() if "subscriptions show" in line)
    assert "hz-one-stop" in shown and "tax_payment_certificate" in shown
    listed = next(output for line, output in outputs.items() if "grants list" in line)
    assert "tax-hz-housing" in listed
