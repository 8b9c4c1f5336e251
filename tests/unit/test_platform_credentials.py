"""The local platform's credentials file: created once with mode 0600, kept, refused when others may read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from govbus.exceptions import PlatformError
from govbus.platform import credentials


def test_created_private_then_kept(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "credentials.json"
    first = credentials.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert first["admin"]["username"] == "admin" and len(first["admin"]["password"]) >= 24
    assert credentials.load_or_create(path) == first, "a restart keeps the passwords the broker was formatted with"
    assert credentials.load_or_create(tmp_path / "other.json") != first, "random per platform"


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    credentials.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(PlatformError, match="chmod 600"):
        credentials.load(path)


def test_a_malformed_file_is_named_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text('{"admin": {"user": "x", "secret": "do-not-print"}}')
    path.chmod(0o600)
    with pytest.raises(PlatformError, match="not a credentials file") as raised:
        credentials.load(path)
    assert "do-not-print" not in str(raised.value)


def test_principals_are_added_once_and_the_file_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    admin = credentials.load_or_create(path)["admin"]
    wanted = {"department:taxation": "department.taxation", "department:education": "department.education"}
    first = credentials.with_principals(path, wanted)
    assert first["admin"] == admin and first["department:taxation"]["username"] == "department.taxation"
    assert path.stat().st_mode & 0o777 == 0o600
    assert credentials.with_principals(path, wanted) == first, "existing passwords are kept"
