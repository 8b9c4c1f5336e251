"""The platform's pseudonym key file (issue #11): made once with mode 0600 and kept, refused when others may read it;
handed out by the local platform's state and by `govbus principals exec --pseudonym-key`, never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from govbus.cli import main
from govbus.exceptions import ConfigurationError
from govbus.platform import credentials, dev, pseudonym_key
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE


def test_made_private_once_then_kept(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "pseudonym.key"
    first = pseudonym_key.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) == 64
    assert pseudonym_key.load_or_create(path) == first, "kept: a new key would change every pseudonym"
    assert pseudonym_key.load_or_create(tmp_path / "other.key") != first, "random per platform"


def test_a_key_others_may_read_or_too_short_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    pseudonym_key.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        pseudonym_key.load(path)
    path.write_text("short-secret\n")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="at least 32 characters") as short:
        pseudonym_key.load(path)
    assert "short-secret" not in str(short.value)


def test_the_local_platform_hands_its_key_to_what_it_starts(tmp_path: Path) -> None:
    state = dev.PlatformState(kafka_bootstrap="127.0.0.1:19092", registry_url="http://127.0.0.1:18081", kafka_pid=1,
                              registry_pid=2, kafka_version="4.4.0", data_dir=str(tmp_path))
    assert PSEUDONYM_KEY_VARIABLE not in state.env(), "a platform started before the key existed"
    key = pseudonym_key.load_or_create(tmp_path / pseudonym_key.FILE_NAME)
    assert state.env()[PSEUDONYM_KEY_VARIABLE] == key
    status = state.as_status(running=False)
    assert status["pseudonym_key_file"] == str(tmp_path / "pseudonym.key") and key not in json.dumps(status)


def test_principals_create_makes_the_key_and_exec_hands_it_only_when_asked(tmp_path: Path) -> None:
    path, key_file = tmp_path / "credentials.json", tmp_path / "pseudonym.key"
    done = CliRunner().invoke(main, ["principals", "create", "--credentials-file", str(path), "--pseudonym-key",
                                     str(key_file), "connector:hz-webhook"])
    assert done.exit_code == 0, done.output
    key = pseudonym_key.load(key_file)
    assert key not in done.output and "connector:hz-webhook" in credentials.load(path)
    show = f"import os; print(os.environ.get({PSEUDONYM_KEY_VARIABLE!r}, 'none'))"

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-W", "ignore", "-m", "govbus.cli", "principals", "exec", "--credentials-file",
                str(path), *options, "connector:hz-webhook", "--", sys.executable, "-c", show]
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)

    given, withheld = run("--pseudonym-key", str(key_file)), run()
    assert (given.returncode, given.stdout.strip(), given.stderr) == (0, key, "")
    assert (withheld.returncode, withheld.stdout.strip()) == (0, "none"), "only the connectors given the option"
