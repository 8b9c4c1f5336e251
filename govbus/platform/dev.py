"""`govbus dev up|down|status`: the local embedded platform (Kafka + schema registry).

State lives in ``<home>/dev/state.json``: the PIDs and addresses of what ``up`` started, so
``down`` stops exactly those processes and ``status`` can tell whether they still run. ``up`` also
makes the platform's pseudonym key once, in ``<home>/dev/pseudonym.key`` (mode 0600,
:mod:`govbus.platform.pseudonym_key`), and :meth:`PlatformState.env` hands it to the processes that
use the platform, so a delivery connector started there can pseudonymise masked record keys. So too
the key the connectors sign their audit records with (``<home>/dev/audit.key``, its public half in
``audit.pub``: :mod:`govbus.audit_keys`), as ``GOVBUS_AUDIT_KEY_FILE``.

``up`` also starts the operator's exporter (``govbus run exporter``, :mod:`govbus.operations.exporter`) as the
``operator`` principal when the platform is secured, with ``/metrics`` on ``GOVBUS_EXPORTER_METRICS_PORT``
(another free port when that one is taken); ``status`` says where, ``down`` stops it first.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from govbus import audit_keys, identities, ports
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import ConfigurationError, PlatformError
from govbus.operations.settings import ExporterSettings
from govbus.platform import credentials, jars, kafka, processes, provisioning, pseudonym_key, tls
from govbus.platform.registry_process import RegistryProcess, registry_answers, start_registry_process
from govbus.settings import PlatformSettings
from govbus.topic_names import TopicSettings

log = logging.getLogger(__name__)


@dataclass
class PlatformState:
    """What ``dev up`` started."""

    kafka_bootstrap: str
    registry_url: str
    kafka_pid: int
    registry_pid: int
    kafka_version: str
    data_dir: str
    kafka_startup_seconds: float = 0.0
    registry_startup_seconds: float = 0.0
    security_protocol: str = "PLAINTEXT"
    credentials_file: str | None = None
    acl_reconciler_pid: int | None = None
    tls_ca: str | None = None
    """the CA certificate clients trust when the broker's listener is SASL_SSL (GOVBUS_TLS); None without TLS"""
    exporter_pid: int | None = None
    exporter_metrics_url: str | None = None
    """where the operator's exporter serves /metrics (None: a platform started by an earlier release)"""

    @cached_property
    def kafka(self) -> KafkaConnection:
        """How a client reaches the platform's broker (as its administrator, when it is secured; over TLS
        trusting the platform's CA, when that is on; the credentials file is read once per state)."""
        plain = KafkaConnection(bootstrap=self.kafka_bootstrap)
        if self.tls_ca is not None:
            plain = KafkaConnection(bootstrap=self.kafka_bootstrap, security_protocol="SSL", tls_ca=Path(self.tls_ca))
        if self.credentials_file is None:
            return plain
        admin = credentials.load(Path(self.credentials_file))[credentials.ADMIN]
        return plain.with_credentials(admin["username"], admin["password"])

    @cached_property
    def registry(self) -> RegistryConnection:
        """How a client reaches the platform's registry (as its administrator, when it is secured)."""
        if self.credentials_file is None:
            return RegistryConnection(url=self.registry_url)
        admin = credentials.load(Path(self.credentials_file))[credentials.ADMIN]
        return RegistryConnection(url=self.registry_url, username=admin["username"], password=admin["password"])

    @property
    def pseudonym_key_file(self) -> Path:
        """The platform's pseudonym key (made by ``up``; absent for a platform started by an earlier release)."""
        return Path(self.data_dir) / pseudonym_key.FILE_NAME

    def env(self) -> dict[str, str]:
        """The GOVBUS_* connection variables of a process that is to use this platform (as its administrator), and
        the platform's pseudonym key (GOVBUS_PSEUDONYM_KEY) for the delivery connectors."""
        env = {**self.kafka.as_env(), "GOVBUS_REGISTRY__URL": self.registry_url}
        if self.registry.username is not None and self.registry.password is not None:
            env |= {"GOVBUS_REGISTRY__USERNAME": self.registry.username,
                    "GOVBUS_REGISTRY__PASSWORD": self.registry.password.get_secret_value()}
        if self.pseudonym_key_file.exists():
            env |= pseudonym_key.env(self.pseudonym_key_file)
        if (audit_key := Path(self.data_dir) / audit_keys.PRIVATE_FILE).exists():
            env[audit_keys.KEY_FILE_VARIABLE] = str(audit_key)
        return env

    def as_status(self, running: bool) -> dict[str, object]:
        return {"running": running, **asdict(self), "security": self.security(),
                "pseudonym_key_file": str(self.pseudonym_key_file) if self.pseudonym_key_file.exists() else None}

    def security(self) -> dict[str, object]:
        """How clients authenticate: protocol, mechanism (or none), the credentials file (or none) and the CA
        certificate to trust (or none: no TLS)."""
        secured = self.credentials_file is not None
        return {"protocol": self.security_protocol, "mechanism": "SCRAM-SHA-512" if secured else None,
                "credentials_file": self.credentials_file, "tls_ca": self.tls_ca}


@dataclass
class UpResult:
    state: PlatformState
    already_running: bool


def _state_path(settings: PlatformSettings) -> Path:
    return settings.dev_dir / "state.json"


def load_state(settings: PlatformSettings) -> PlatformState | None:
    path = _state_path(settings)
    if not path.exists():
        return None
    try:
        return PlatformState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        log.warning("ignoring unreadable platform state", extra={"path": str(path)})
        return None


def is_running(state: PlatformState) -> bool:
    """Both processes alive and answering."""
    if not (processes.is_alive(state.kafka_pid) and processes.is_alive(state.registry_pid)):
        return False
    if state.acl_reconciler_pid is not None and not processes.is_alive(state.acl_reconciler_pid):
        return False
    if state.exporter_pid is not None and not processes.is_alive(state.exporter_pid):
        return False
    return kafka.metadata_ready(state.kafka_bootstrap, state.kafka) and registry_answers(state.registry_url)


def status(settings: PlatformSettings) -> dict[str, object]:
    """The platform's addresses and whether it runs (configured addresses when never started)."""
    state = load_state(settings)
    if state is None:
        return {
            "running": False,
            "kafka_bootstrap": f"127.0.0.1:{settings.kafka_port}",
            "registry_url": f"http://127.0.0.1:{settings.registry_port}",
        }
    return state.as_status(is_running(state))


def up(settings: PlatformSettings) -> UpResult:
    """Start Kafka and the registry unless they already run; a second call is a no-op."""
    if settings.tls and settings.security != "scram":
        raise ConfigurationError("GOVBUS_TLS=true wraps the broker's SASL/SCRAM listener in TLS, but "
                                 f"GOVBUS_SECURITY={settings.security} turns SASL off: set GOVBUS_SECURITY=scram, "
                                 "or unset GOVBUS_TLS")
    pseudonym_key.load_or_create(settings.dev_dir / pseudonym_key.FILE_NAME)  # once; kept across restarts
    audit_keys.load_or_create(settings.dev_dir / audit_keys.PRIVATE_FILE)  # once; kept across restarts
    existing = load_state(settings)
    if existing is not None and is_running(existing):
        return UpResult(existing, already_running=True)
    if existing is not None:
        down(settings)  # half-dead leftovers: stop whatever is still alive first
    libs = jars.kafka_libs(settings.cache_dir, settings.kafka_version)
    processes.require_free_port(settings.registry_port, "the schema registry")
    credentials_file = _credentials(settings)
    admin_password = credentials.load(credentials_file)[credentials.ADMIN]["password"] if credentials_file else None
    broker_tls = tls.ensure(settings.dev_dir / "tls") if settings.tls else None
    config = kafka.KafkaNodeConfig(
        data_dir=settings.dev_dir / "kafka", libs=libs, port=settings.kafka_port,
        controller_port=settings.controller_port, heap=settings.kafka_heap, admin_password=admin_password,
        tls=broker_tls,
    )
    kafka_pid, kafka_seconds = kafka.start(config, settings.startup_timeout)
    try:
        if credentials_file is not None:
            _provision_principals(config.admin, credentials_file)
        registry, registry_seconds = _start_registry(settings, config, credentials_file)
    except Exception:
        processes.stop_process(kafka_pid)
        raise
    reconciler_pid = None
    try:
        reconciler_pid = _start_reconciler(settings, config.admin) if credentials_file is not None else None
        exporter_pid, exporter_url = _start_exporter(settings, config.admin, credentials_file)
    except Exception:  # nothing of this start may be left running
        if reconciler_pid is not None:
            processes.stop_process(reconciler_pid)
        registry.stop()
        processes.stop_process(kafka_pid)
        raise
    state = PlatformState(
        kafka_bootstrap=config.bootstrap, registry_url=registry.url, kafka_pid=kafka_pid,
        registry_pid=registry.pid, kafka_version=settings.kafka_version, data_dir=str(settings.dev_dir),
        kafka_startup_seconds=round(kafka_seconds, 2), registry_startup_seconds=round(registry_seconds, 2),
        security_protocol=config.admin.security_protocol,
        credentials_file=str(credentials_file) if credentials_file else None, acl_reconciler_pid=reconciler_pid,
        tls_ca=str(broker_tls.ca) if broker_tls else None, exporter_pid=exporter_pid,
        exporter_metrics_url=exporter_url,
    )
    _state_path(settings).write_text(json.dumps(asdict(state), indent=2))
    return UpResult(state, already_running=False)


def _credentials(settings: PlatformSettings) -> Path | None:
    """With ``security=scram``, the credentials file (created on the first secured start); else None."""
    if settings.security != "scram":
        return None
    path = settings.dev_dir / "credentials.json"
    formatted = (settings.dev_dir / "kafka" / "kraft-logs" / "meta.properties").exists()
    if formatted and not path.exists():
        raise PlatformError(f"the platform's data in {settings.dev_dir / 'kafka'} was created without security, so "
                            "the broker holds no administrator credential: delete that directory (its topics are "
                            "lost) or set GOVBUS_SECURITY=none")
    credentials.load_or_create(path)
    return path


def _provision_principals(admin: KafkaConnection, path: Path) -> None:
    """The platform's principals (credentials added to ``path``) with their static ACLs under
    GOVBUS_TOPIC_PREFIX: the operator, a principal per department of the catalogue (its grants topic
    created), the stream processors and the public feed (:mod:`govbus.platform.provisioning`, which
    ``govbus principals provision`` shares). Subscribers and subscriptions' connectors are added with
    ``govbus dev principals add``; the ACL reconciler keeps the grant-derived ACLs."""
    provisioning.provision_principals(admin, path)


def _start_registry(settings: PlatformSettings, config: kafka.KafkaNodeConfig,
                    credentials_file: Path | None) -> tuple[RegistryProcess, float]:
    """The registry, on the broker as its administrator; with HTTP Basic authentication of the same principals
    (the same credentials file) when the platform is secured."""
    started = time.monotonic()
    registry = start_registry_process(
        bootstrap=config.bootstrap, kafka_env=config.admin.as_env(), port=settings.registry_port,
        log_path=settings.dev_dir / "registry.log", timeout=settings.startup_timeout,
        credentials_file=credentials_file,
    )
    return registry, time.monotonic() - started


def _start_reconciler(settings: PlatformSettings, admin: KafkaConnection) -> int:
    """``govbus run acl`` as the administrator: the broker's ACLs follow the grants (a pass every 2 s)."""
    command = [sys.executable, "-m", "govbus.cli", "run", "acl"]
    return processes.start_process(command, settings.dev_dir / "acl.log",
                                   env={**admin.as_env(), "GOVBUS_TOPIC_PREFIX": TopicSettings().topic_prefix})


def _start_exporter(settings: PlatformSettings, admin: KafkaConnection,
                    credentials_file: Path | None) -> tuple[int, str]:
    """``govbus run exporter`` as the operator (as the only client there is, on an open platform), with /metrics on
    GOVBUS_EXPORTER_METRICS_PORT or, when that is taken, a free port; its PID and metrics URL."""
    connection = admin
    if credentials_file is not None:
        operator = credentials.load(credentials_file)[identities.OPERATOR]
        connection = admin.with_credentials(operator["username"], operator["password"])
    port = ExporterSettings().exporter_metrics_port
    if not ports.port_is_free(port):
        port = ports.free_port()
    command = [sys.executable, "-m", "govbus.cli", "run", "exporter"]
    env = {**connection.as_env(), "GOVBUS_TOPIC_PREFIX": TopicSettings().topic_prefix,
           "GOVBUS_EXPORTER_METRICS_PORT": str(port)}
    pid = processes.start_process(command, settings.dev_dir / "exporter.log", env=env)
    return pid, f"http://127.0.0.1:{port}/metrics"


def down(settings: PlatformSettings) -> list[str]:
    """Stop what ``up`` started, by PID (registry first); return what was stopped."""
    state = load_state(settings)
    if state is None:
        return []
    stopped = []
    if state.exporter_pid is not None and processes.stop_process(state.exporter_pid):
        stopped.append(f"exporter (pid {state.exporter_pid})")
    if state.acl_reconciler_pid is not None and processes.stop_process(state.acl_reconciler_pid):
        stopped.append(f"ACL reconciler (pid {state.acl_reconciler_pid})")
    if processes.stop_process(state.registry_pid):
        stopped.append(f"schema registry (pid {state.registry_pid})")
    if processes.stop_process(state.kafka_pid, timeout=30):
        stopped.append(f"Kafka broker (pid {state.kafka_pid})")
    _state_path(settings).unlink(missing_ok=True)
    return stopped
