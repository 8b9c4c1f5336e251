"""`govbus dev up|down|status`: the local embedded platform (Kafka + schema registry).

State lives in ``<home>/dev/state.json``: the PIDs and addresses of what ``up`` started, so
``down`` stops exactly those processes and ``status`` can tell whether they still run. ``up`` also
makes the platform's pseudonym key once, in ``<home>/dev/pseudonym.key`` (mode 0600,
:mod:`govbus.platform.pseudonym_key`), and :meth:`PlatformState.env` hands it to the processes that
use the platform, so a delivery connector started there can pseudonymise masked record keys. So too
the key the connectors sign their audit records with (``<home>/dev/audit.key``, its public half in
``audit.pub``: :mod:`govbus.audit_keys`), as ``GOVBUS_AUDIT_KEY_FILE``.

``up`` runs one Kafka node, or with ``GOVBUS_DEV_BROKERS=3`` (``dev up --brokers 3``) a KRaft cluster of three
(:mod:`govbus.platform.kafka`): the state then records every node's PID (``kafka_pids``, node *n* at index
*n - 1*; ``kafka_pid`` stays node 1's, as in the state files of earlier releases) and the bootstrap names all
three. ``down`` stops every node, ``status`` shows each. :func:`restart_node` starts one node again on its own
data (after a fault test killed it by its PID, :func:`node_pid`).

``up`` also starts the operator's exporter (``govbus run exporter``, :mod:`govbus.operations.exporter`) as the
``operator`` principal when the platform is secured, with ``/metrics`` on ``GOVBUS_EXPORTER_METRICS_PORT``
(another free port when that one is taken); ``status`` says where, ``down`` stops it first.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
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
    kafka_pids: list[int] = field(default_factory=list)
    """every Kafka node's PID, node n at index n - 1 (empty: a state file of an earlier release, its one node's PID
    being ``kafka_pid``)"""

    @property
    def broker_pids(self) -> list[int]:
        """The PID of every Kafka node, node 1's first."""
        return self.kafka_pids or [self.kafka_pid]

    @property
    def node_bootstraps(self) -> list[str]:
        """Each node's own address, node 1's first."""
        return self.kafka_bootstrap.split(",")

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
        return {"running": running, **asdict(self), "security": self.security(), "kafka_nodes": self.nodes(),
                "pseudonym_key_file": str(self.pseudonym_key_file) if self.pseudonym_key_file.exists() else None}

    def nodes(self) -> list[dict[str, object]]:
        """Each Kafka node: its id, address, PID and whether that process is alive."""
        return [{"node_id": n, "bootstrap": address, "pid": pid, "alive": processes.is_alive(pid)}
                for n, (address, pid) in enumerate(zip(self.node_bootstraps, self.broker_pids, strict=False), 1)]

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
    """Every process alive, every Kafka node in the metadata and the registry answering."""
    if not (all(processes.is_alive(pid) for pid in state.broker_pids) and processes.is_alive(state.registry_pid)):
        return False
    if state.acl_reconciler_pid is not None and not processes.is_alive(state.acl_reconciler_pid):
        return False
    if state.exporter_pid is not None and not processes.is_alive(state.exporter_pid):
        return False
    return _kafka_answers(state) and registry_answers(state.registry_url)


def _kafka_answers(state: PlatformState) -> bool:
    if len(state.broker_pids) == 1:
        return kafka.metadata_ready(state.kafka_bootstrap, state.kafka)
    return kafka.broker_count(state.kafka) >= len(state.broker_pids)


def status(settings: PlatformSettings) -> dict[str, object]:
    """The platform's addresses and whether it runs (configured addresses when never started)."""
    state = load_state(settings)
    if state is None:
        return {
            "running": False,
            "kafka_bootstrap": ",".join(f"127.0.0.1:{settings.kafka_port + kafka.PORT_STEP * n}"
                                        for n in range(settings.dev_brokers)),
            "registry_url": f"http://127.0.0.1:{settings.registry_port}",
        }
    return state.as_status(is_running(state))


def up(settings: PlatformSettings) -> UpResult:
    """Start Kafka (one node or a cluster, ``settings.dev_brokers``) and the registry unless they already run; a
    second call is a no-op."""
    if settings.tls and settings.security != "scram":
        raise ConfigurationError("GOVBUS_TLS=true wraps the broker's SASL/SCRAM listener in TLS, but "
                                 f"GOVBUS_SECURITY={settings.security} turns SASL off: set GOVBUS_SECURITY=scram, "
                                 "or unset GOVBUS_TLS")
    pseudonym_key.load_or_create(settings.dev_dir / pseudonym_key.FILE_NAME)  # once; kept across restarts
    audit_keys.load_or_create(settings.dev_dir / audit_keys.PRIVATE_FILE)  # once; kept across restarts
    existing = load_state(settings)
    if existing is not None and is_running(existing):
        _require_same_size(existing, settings)
        return UpResult(existing, already_running=True)
    if existing is not None:
        down(settings)  # half-dead leftovers: stop whatever is still alive first
    processes.require_free_port(settings.registry_port, "the schema registry")
    credentials_file = _credentials(settings)
    configs = _node_configs(settings, credentials_file)
    kafka_pids, kafka_seconds = _start_kafka(configs, settings.startup_timeout)
    admin = kafka.cluster_admin(configs)
    try:
        if credentials_file is not None:
            _provision_principals(admin, credentials_file)
        registry, registry_seconds = _start_registry(settings, admin, credentials_file)
    except Exception:
        kafka.stop_nodes(kafka_pids)
        raise
    reconciler_pid = None
    try:
        kafka.replicate_offsets_topic(admin, len(configs))  # the registry's election group made the topic
        reconciler_pid = _start_reconciler(settings, admin) if credentials_file is not None else None
        exporter_pid, exporter_url = _start_exporter(settings, admin, credentials_file)
    except Exception:  # nothing of this start may be left running
        if reconciler_pid is not None:
            processes.stop_process(reconciler_pid)
        registry.stop()
        kafka.stop_nodes(kafka_pids)
        raise
    tls_ca = configs[0].tls.ca if configs[0].tls else None
    state = PlatformState(
        kafka_bootstrap=admin.bootstrap, registry_url=registry.url, kafka_pid=kafka_pids[0],
        registry_pid=registry.pid, kafka_version=settings.kafka_version, data_dir=str(settings.dev_dir),
        kafka_startup_seconds=round(kafka_seconds, 2), registry_startup_seconds=round(registry_seconds, 2),
        security_protocol=admin.security_protocol,
        credentials_file=str(credentials_file) if credentials_file else None, acl_reconciler_pid=reconciler_pid,
        tls_ca=str(tls_ca) if tls_ca else None, exporter_pid=exporter_pid,
        exporter_metrics_url=exporter_url, kafka_pids=kafka_pids,
    )
    _write_state(settings, state)
    return UpResult(state, already_running=False)


def _require_same_size(state: PlatformState, settings: PlatformSettings) -> None:
    """:class:`PlatformError` when ``settings`` ask for a number of Kafka nodes (``--brokers``, GOVBUS_DEV_BROKERS)
    other than the running platform's; left at its default, whatever runs is used (``govbus demo`` on a cluster)."""
    running = len(state.broker_pids)
    if "dev_brokers" in settings.model_fields_set and running != settings.dev_brokers:
        raise PlatformError(f"the platform runs {running} Kafka node(s), not {settings.dev_brokers}: stop it with "
                            f"`govbus dev down` first, then `govbus dev up --brokers {settings.dev_brokers}` (a "
                            "cluster keeps its data apart from the single node's, in <home>/dev/kafka-<n>)")


def _node_configs(settings: PlatformSettings, credentials_file: Path | None) -> list[kafka.KafkaNodeConfig]:
    """The Kafka nodes of the platform ``settings`` describe (the jars fetched, the TLS material made, if
    missing), as administrator of the credentials file (None: open nodes)."""
    libs = jars.kafka_libs(settings.cache_dir, settings.kafka_version)
    admin_password = credentials.load(credentials_file)[credentials.ADMIN]["password"] if credentials_file else None
    broker_tls = tls.ensure(settings.dev_dir / "tls") if settings.tls else None
    heap = settings.kafka_heap if settings.dev_brokers == 1 else settings.dev_broker_heap
    node = kafka.KafkaNodeConfig(
        data_dir=settings.dev_dir, libs=libs, port=settings.kafka_port, controller_port=settings.controller_port,
        heap=heap, admin_password=admin_password, tls=broker_tls,
    )
    return kafka.cluster_configs(node, settings.dev_dir, settings.dev_brokers)


def _start_kafka(configs: list[kafka.KafkaNodeConfig], timeout: float) -> tuple[list[int], float]:
    """Start the one node or the cluster: the PIDs, and the seconds until every node answered."""
    if len(configs) == 1:
        pid, seconds = kafka.start(configs[0], timeout)
        return [pid], seconds
    return kafka.start_cluster(configs, timeout)


def _write_state(settings: PlatformSettings, state: PlatformState) -> None:
    _state_path(settings).write_text(json.dumps(asdict(state), indent=2))


def node_pid(settings: PlatformSettings, node_id: int) -> int:
    """The PID of Kafka node ``node_id`` (1, or 1..3 in a cluster) of the platform ``up`` started."""
    return _pid_of(_running_state(settings), node_id)


def _pid_of(state: PlatformState, node_id: int) -> int:
    pids = state.broker_pids
    if not 1 <= node_id <= len(pids):
        raise PlatformError(f"the platform has Kafka nodes 1 to {len(pids)}, no node {node_id}")
    return pids[node_id - 1]


def restart_node(settings: PlatformSettings, node_id: int) -> tuple[int, float]:
    """Start Kafka node ``node_id`` again on its own data (it was killed or stopped; the others run on); its
    new PID, recorded in the platform's state, and the seconds until it answered. :class:`PlatformError` when
    it still runs or ``settings`` describe another platform than the one ``up`` started."""
    state = _running_state(settings)
    old = _pid_of(state, node_id)
    if processes.is_alive(old):
        raise PlatformError(f"Kafka node {node_id} still runs (pid {old}): stop it before starting it again")
    configs = _node_configs(settings, Path(state.credentials_file) if state.credentials_file else None)
    if kafka.bootstrap(configs) != state.kafka_bootstrap or (configs[0].tls is None) != (state.tls_ca is None):
        raise PlatformError(f"these settings describe Kafka at {kafka.bootstrap(configs)} (TLS "
                            f"{'on' if configs[0].tls else 'off'}), but the platform runs at {state.kafka_bootstrap} "
                            f"(TLS {'on' if state.tls_ca else 'off'}): restart a node with the settings `govbus dev "
                            "up` had")
    config = configs[node_id - 1]
    pid = kafka.launch(config, kafka.cluster_id(config))
    seconds = kafka.wait_ready(config, pid, settings.startup_timeout)
    pids = state.broker_pids
    pids[node_id - 1] = pid
    state.kafka_pids, state.kafka_pid = pids, pids[0]
    _write_state(settings, state)
    return pid, seconds


def _running_state(settings: PlatformSettings) -> PlatformState:
    state = load_state(settings)
    if state is None:
        raise PlatformError(f"no platform was started in {settings.dev_dir}: run `govbus dev up` first")
    return state


def _credentials(settings: PlatformSettings) -> Path | None:
    """With ``security=scram``, the credentials file (created on the first secured start); else None."""
    if settings.security != "scram":
        return None
    path = settings.dev_dir / "credentials.json"
    formatted = [d for d in kafka.node_dirs(settings.dev_dir, settings.dev_brokers)
                 if (d / "kraft-logs" / "meta.properties").exists()]
    if formatted and not path.exists():
        raise PlatformError(f"the platform's data in {formatted[0]} was created without security, so the broker "
                            "holds no administrator credential: delete that directory (its topics are lost) or set "
                            "GOVBUS_SECURITY=none")
    credentials.load_or_create(path)
    return path


def _provision_principals(admin: KafkaConnection, path: Path) -> None:
    """The platform's principals (credentials added to ``path``) with their static ACLs under
    GOVBUS_TOPIC_PREFIX: the operator, a principal per department of the catalogue (its grants topic
    created), the stream processors and the public feed (:mod:`govbus.platform.provisioning`, which
    ``govbus principals provision`` shares). Subscribers and subscriptions' connectors are added with
    ``govbus dev principals add``; the ACL reconciler keeps the grant-derived ACLs."""
    provisioning.provision_principals(admin, path)


def _start_registry(settings: PlatformSettings, admin: KafkaConnection,
                    credentials_file: Path | None) -> tuple[RegistryProcess, float]:
    """The registry, on the broker as its administrator; with HTTP Basic authentication of the same principals
    (the same credentials file) when the platform is secured."""
    started = time.monotonic()
    registry = start_registry_process(
        bootstrap=admin.bootstrap, kafka_env=admin.as_env(), port=settings.registry_port,
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
    for pid in kafka.stop_nodes(state.broker_pids):
        stopped.append(f"Kafka broker (pid {pid})")
    _state_path(settings).unlink(missing_ok=True)
    return stopped
