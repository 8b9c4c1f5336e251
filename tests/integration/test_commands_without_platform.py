"""Every ``govbus`` command, run as a new user would with the platform stopped: one clear line, never a
traceback or librdkafka's log lines, and a non-zero exit code where the command needs the broker or the
registry (the addresses given point at ports nobody listens on)."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from govbus.platform import provisioning
from govbus.platform.processes import free_port
from testsupport.cli_tree import every_command

NEED_NO_PLATFORM = {"config", "catalogue list", "catalogue show", "catalogue asyncapi", "streams dialects",
                    "gateway add-key", "dev status", "dev down", "principals create", "principals exec", "audit keygen",
                    "subscriptions secret"}
NOT_RUN = {"dev up": "starts the platform", "demo": "starts its own platform",
           "scenario run": "starts the platform", "scenario matrix": "starts the platform"}
LIBRDKAFKA_LOG = re.compile(r"^%\d\|", re.MULTILINE)


def arguments(path: str, command: click.Command, files: Path) -> list[str]:
    """Plausible arguments and required options: the command's own checks pass, so it gets to connecting."""
    values = {"item": "enterprise_registration", "record_key": "91110105MA01ABCD1X", "name": "hz-one-stop",
              "grant_id": "g-1", "subscriber": "hz", "department": "market-regulation", "components": "mirror",
              "keys": "subscriber:hz", "key": "admin", "command": "true", "path": str(files / "keys" / "audit.key"),
              "run_dir": str(files), "run_dirs": str(files)}
    files_by_command = {"publish": files / "records.jsonl", "subscriptions add": files / "subscription.yaml",
                        "grants add": files / "grant.yaml"}
    args = []
    for param in command.params:
        if isinstance(param, click.Argument):
            args.append(str(files_by_command[path]) if param.name == "file" else values[str(param.name)])
    options = {"publish": ["--department", "market-regulation"], "audit deliveries": ["--since", "7d"],
               "subscriptions replay": ["--from", "7d"], "outbox migrate": ["--dsn", "postgresql://127.0.0.1:1/x"],
               "outbox status": ["--dsn", "postgresql://127.0.0.1:1/x"],
               "outbox run": ["--dsn", "postgresql://127.0.0.1:1/x", "--department", "market-regulation"],
               "gateway add-key": ["--keys-file", str(files / "keys.json")],
               "principals create": ["--credentials-file", str(files / "created-credentials.json")],
               "principals provision": ["--credentials-file", str(files / "credentials.json")],
               "principals exec": ["--credentials-file", str(files / "credentials.json")],
               "scenario report": ["--out", str(files / "report")]}
    return options.get(path, []) + args  # options first: `principals exec` hands everything after KEY on


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("inputs")
    (directory / "records.jsonl").write_text('{"uscc": "91110105MA01ABCD1X"}\n', encoding="utf-8")
    (directory / "subscription.yaml").write_text(
        "name: hz-one-stop\nsubscriber: hz\nitems: [{item: enterprise_registration, fields: [uscc, name]}]\n"
        "delivery: {kind: webhook, url: 'http://127.0.0.1:1/hook', secret_env: HZ_SECRET}\n", encoding="utf-8")
    (directory / "grant.yaml").write_text(
        "grant_id: g-1\nsubscriber: hz\nitem: tax_payment_certificate\napproved_by: taxation\npurpose: test\n"
        "fields: [certificate_number]\nexpires_at: '2099-01-01T00:00:00+08:00'\n", encoding="utf-8")
    provisioning.ensure_credentials(directory / "credentials.json")  # as `govbus principals create` leaves it
    return directory


def test_every_command_ends_in_one_clear_line_without_the_platform(files: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GOVBUS_HOME": str(tmp_path / "govbus"),
           "GOVBUS_KAFKA__BOOTSTRAP": f"127.0.0.1:{free_port()}", "GOVBUS_REGISTRY__URL": f"http://127.0.0.1:{free_port()}",
           "GOVBUS_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    commands = [(path, command) for path, command in every_command() if path not in NOT_RUN]
    assert len(commands) > 25, "the walk must find the command tree"

    def run(entry: tuple[str, click.Command]) -> tuple[str, int, str]:
        path, command = entry
        argv = [sys.executable, "-W", "ignore", "-m", "govbus.cli", *path.split(), *arguments(path, command, files)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90, cwd=tmp_path)
        return path, done.returncode, done.stdout + done.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, commands))
    problems = []
    for path, code, output in results:
        if "Traceback" in output:
            problems.append(f"`govbus {path}` printed a traceback:\n{output[-1500:]}")
        elif LIBRDKAFKA_LOG.search(output):
            problems.append(f"`govbus {path}` printed librdkafka's log lines:\n{output[-800:]}")
        elif path in NEED_NO_PLATFORM and code != 0:
            problems.append(f"`govbus {path}` needs no platform but exited {code}:\n{output[-800:]}")
        elif path not in NEED_NO_PLATFORM and code == 0:
            problems.append(f"`govbus {path}` exited 0 without a platform:\n{output[-800:]}")
        elif path not in NEED_NO_PLATFORM and not output.strip():
            problems.append(f"`govbus {path}` exited {code} without saying why")
    assert not problems, "\n\n".join(problems)
