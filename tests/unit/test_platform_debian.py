"""govbus.platform.debian without touching the system's apt: a program already on PATH, the refusal when apt
cannot be used, the retry while apt is locked (a fake apt-get), and the policy-rc.d held only during an install."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from govbus.exceptions import MissingToolError
from govbus.platform import debian


def _fake_apt_get(directory: Path, script: str) -> Path:
    program = directory / "apt-get"
    program.write_text("#!/bin/sh\n" + script, encoding="ascii")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_a_program_on_path_is_returned_without_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_apt_get(tmp_path, "exit 1\n")
    tool = tmp_path / "sometool"
    tool.write_text("#!/bin/sh\n", encoding="ascii")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert debian.ensure_tool("sometool", package="never-installed") == tool


def test_without_root_or_apt_it_says_which_package_to_install(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get here
    with pytest.raises(MissingToolError, match=r"promtool is not installed: install Debian's prometheus package"):
        debian.ensure_tool("promtool", package="prometheus")


def test_apt_waits_while_another_process_holds_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    _fake_apt_get(tmp_path, f'echo x >> {calls}\n[ "$(wc -l < {calls})" -ge 3 ] && exit 0\n'
                            'echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2\nexit 100\n')
    monkeypatch.setattr(debian, "_LOCK_RETRY_SECONDS", 0.01)
    debian.apt([str(tmp_path / "apt-get"), "install", "-y", "prometheus"])
    assert len(calls.read_text().splitlines()) == 3


def test_apt_fails_at_once_on_any_other_error(tmp_path: Path) -> None:
    _fake_apt_get(tmp_path, 'echo "E: Unable to locate package nosuch" >&2\nexit 100\n')
    with pytest.raises(MissingToolError, match="Unable to locate package nosuch"):
        debian.apt([str(tmp_path / "apt-get"), "install", "-y", "nosuch"])


def test_services_are_held_only_while_installing(tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    with debian.services_held(policy):
        assert policy.read_text().rstrip().endswith("exit 101")
        assert os.access(policy, os.X_OK)
    assert not policy.exists(), "the policy written for the install is removed afterwards"
    policy.write_text("#!/bin/sh\nexit 0\n")
    with debian.services_held(policy):
        pass
    assert policy.read_text() == "#!/bin/sh\nexit 0\n", "a policy of the system's own is left as it is"
