"""Provide a real PostgreSQL server for tests and benchmarks.

Order: ``GOVBUS_TEST_POSTGRES_DSN`` if set (a server you run; each test still gets its own
database); else a **private cluster**: ``initdb`` in a temporary directory and ``pg_ctl start``
on a free port bound to 127.0.0.1, with its unix socket in that directory. When the server
binaries are missing and we are root, Debian's ``postgresql`` package is installed first
(:func:`govbus.platform.debian.install`: ``apt-get update`` once, waiting while apt is locked).

    with session_postgres() as server:
        dsn = server.create_database(unique_database_name("orders"))
        ...
        server.drop_database(...)

The private cluster runs as the ``postgres`` user when we are root (``initdb`` refuses root),
is tuned for throw-away use (``fsync=off`` unless ``durable=True``) and is stopped by PID:
``pg_ctl stop -m fast``, then SIGKILL of the postmaster if it is still there.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from govbus.exceptions import MissingToolError, PlatformError, StartupTimeoutError
from govbus.platform import debian, processes

log = logging.getLogger(__name__)

DSN_ENV = "GOVBUS_TEST_POSTGRES_DSN"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def unique_database_name(prefix: str = "govbus") -> str:
    """A database name no other test uses: ``prefix`` (lower-cased, sanitised) + 12 hex digits."""
    clean = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40] or "govbus"
    if not clean[0].isalpha():
        clean = "t_" + clean
    return f"{clean}_{uuid.uuid4().hex[:12]}"


def _quote_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise PlatformError(f"{name!r} is not a plain database name (lower-case letters, digits, _)")
    return f'"{name}"'


@dataclass(frozen=True)
class PostgresServer:
    """A server we may create databases on, reached as a superuser through ``admin_dsn``."""

    admin_dsn: str

    def dsn(self, database: str) -> str:
        """``admin_dsn`` with its database replaced by ``database``."""

        params = conninfo_to_dict(self.admin_dsn)
        params["dbname"] = database
        return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its DSN."""
        self._admin(f"CREATE DATABASE {_quote_ident(name)}")
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, ending any session still connected to it."""
        self._admin(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def _admin(self, statement: str) -> None:

        try:
            with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement.encode())
        except psycopg.Error as error:
            raise PlatformError(f"{statement!r} failed on the test PostgreSQL server: {error}") from error

    @contextmanager
    def database(self, prefix: str = "govbus") -> Iterator[str]:
        """A fresh database for the block (its DSN), dropped afterwards."""
        name = unique_database_name(prefix)
        dsn = self.create_database(name)
        try:
            yield dsn
        finally:
            self.drop_database(name)


@dataclass(frozen=True)
class PrivateCluster(PostgresServer):
    """A cluster this process initialised and started; :meth:`stop` ends it by PID."""

    data_dir: Path
    bin_dir: Path
    port: int
    pid: int
    run_as: str | None

    def stop(self, timeout: float = 30.0) -> None:
        """``pg_ctl stop -m fast``; SIGKILL the postmaster if it has not gone after ``timeout`` s."""
        run_pg([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w",
              "-t", str(int(timeout))], self.run_as, check=False)
        deadline = time.monotonic() + 5
        while processes.is_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if processes.is_alive(self.pid):
            log.warning("postmaster ignored pg_ctl stop; killing it", extra={"pid": self.pid})
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: ``pg_config --bindir``, else the newest Debian one."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        candidate = Path(found.stdout.strip())
        if found.returncode == 0 and (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    versions = sorted((p for p in _DEBIAN_ROOT.glob("*/bin") if (p / "initdb").is_file()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def ensure_postgres_binaries() -> Path:
    """:func:`find_bin_dir`, installing Debian's ``postgresql`` package first if needed (root only)."""
    found = find_bin_dir()
    if found:
        return found
    if not debian.can_install():
        raise MissingToolError(
            "PostgreSQL's initdb and pg_ctl are not installed: install them (`apt-get install postgresql`) "
            f"or set {DSN_ENV} to a server the tests may create databases on"
        )
    log.info("installing Debian's postgresql package for the tests")
    debian.install(["postgresql"], reason="PostgreSQL's initdb and pg_ctl are not installed")
    found = find_bin_dir()
    if found is None:
        raise MissingToolError("apt-get installed postgresql but initdb is still not found")
    return found


def run_pg(argv: Sequence[str], run_as: str | None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - argv is built here from fixed program names
        list(argv), capture_output=True, text=True, check=False, user=run_as, cwd="/",
        env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
    )
    if check and done.returncode != 0:
        raise PlatformError(f"`{' '.join(argv)}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    return done


def _server_options(port: int, socket_dir: Path, durable: bool) -> str:
    options = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {socket_dir}",
               "-c max_connections=100", "-c shared_buffers=64MB"]
    if not durable:
        options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    return " ".join(options)


def start_private_cluster(base_dir: Path | None = None, durable: bool = False,
                          timeout: float = 60.0) -> PrivateCluster:
    """``initdb`` a cluster under ``base_dir`` (a new temp dir by default) and start it on a free port."""
    bin_dir = ensure_postgres_binaries()
    run_as = "postgres" if os.geteuid() == 0 else None
    base = base_dir or Path(tempfile.mkdtemp(prefix="govbus-pg-"))
    data_dir, socket_dir = base / "data", base / "socket"
    socket_dir.mkdir(parents=True, exist_ok=True)
    if run_as:
        owner = pwd.getpwnam(run_as)
        for path in (base, socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    run_pg([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust",
          "--encoding=UTF8", "--no-instructions"], run_as)
    log_path = base / "postgres.log"
    for attempt in range(3):
        port = processes.free_port()
        started = run_pg([str(bin_dir / "pg_ctl"), "start", "-D", str(data_dir), "-l", str(log_path), "-w",
                        "-t", str(int(timeout)), "-o", _server_options(port, socket_dir, durable)], run_as, check=False)
        if started.returncode == 0:
            break
        log.warning("PostgreSQL did not start; trying another port", extra={"port": port, "attempt": attempt})
    else:
        tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
        raise StartupTimeoutError(f"PostgreSQL did not start in {data_dir}: {started.stderr.strip()}\n{tail}")
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    admin = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    log.info("private PostgreSQL cluster started", extra={"port": port, "pid": pid, "data_dir": str(data_dir)})
    return PrivateCluster(admin_dsn=admin, data_dir=data_dir, bin_dir=bin_dir, port=port, pid=pid, run_as=run_as)


@contextmanager
def private_cluster(durable: bool = False) -> Iterator[PrivateCluster]:
    """A throw-away cluster in a temp dir: stopped by PID and deleted on exit."""
    base = Path(tempfile.mkdtemp(prefix="govbus-pg-"))
    try:
        cluster = start_private_cluster(base, durable=durable)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def session_postgres(durable: bool = False) -> Iterator[PostgresServer]:
    """The server a test session (or benchmark) should use: ``GOVBUS_TEST_POSTGRES_DSN``, else a private cluster."""
    given = os.environ.get(DSN_ENV)
    if given:
        yield PostgresServer(admin_dsn=given)
        return
    with private_cluster(durable=durable) as cluster:
        yield cluster
