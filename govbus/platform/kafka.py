"""Apache Kafka in KRaft mode on 127.0.0.1: one node, or a cluster of three, each broker and controller combined.

One node (``node.id=1``, the only voter of its quorum) is what ``govbus dev up`` runs by default. A cluster
(:func:`cluster_configs` with ``count=3``, ``govbus dev up --brokers 3``) is three such nodes, ids 1 to 3, each
with its own client and controller ports (node *n* on the configured ports plus ``PORT_STEP * (n - 1)``) and
data directory, all three the static voters of one quorum, formatted with one cluster id. Security is the
same on every node (SCRAM with ``admin`` the super user, the authorizer, TLS when on); the internal topics
(consumer offsets, transaction state, share-group state) are replicated as :func:`govbus.topics.replication_for`
the cluster's size says: 3 replicas, ``min.insync.replicas`` 2 on a cluster.

Starting a cluster (:func:`start_cluster`):

1. format every node not yet formatted with the cluster id of a formatted one (a random id the first time);
2. start the three processes at once: a node's broker answers only once a majority of the voters elected a
   controller, so waiting for the first before starting the second would wait forever;
3. wait until each node answers a metadata request, then until the metadata lists every broker.

A node killed on purpose (a fault test) starts again on its own data with :func:`launch` and
:func:`wait_ready`, and catches up from the others.
"""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.platform import processes
from govbus.platform.jars import require_java
from govbus.platform.tls import BrokerTls
from govbus.settings import CLUSTER_PORT_STEP
from govbus.topics import replication_for

log = logging.getLogger(__name__)
ADMIN = "admin"
"""the super user of a secured node"""
PORT_STEP = CLUSTER_PORT_STEP
"""node *n* of a cluster listens on the configured client and controller ports plus ``PORT_STEP * (n - 1)``"""
OFFSETS_TOPIC = "__consumer_offsets"
SINGLE_NODE_DIR = "kafka"
"""the data directory of the one node of a single-node platform (node *n* of a cluster: ``kafka-<n>``)"""

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.server.name = kafka.server.KafkaServer
logger.server.level = INFO
"""


@dataclass(frozen=True)
class KafkaNodeConfig:
    """Where a local node lives and listens."""

    data_dir: Path
    libs: Path
    port: int
    controller_port: int
    heap: str = "768m"
    partitions: int = 3
    node_id: int = 1
    voters: tuple[tuple[int, int], ...] = ()
    """(node id, controller port) of every voter of the quorum; empty: this node alone"""
    admin_password: str | None = None
    """None: a PLAINTEXT listener with no authorizer. Set: SASL/SCRAM-SHA-512 on the client listener, PLAIN
    between broker and controller, KRaft's StandardAuthorizer with ``admin`` (this password) the only super
    user: no other principal reaches anything without an ACL."""
    tls: BrokerTls | None = None
    """Set (only with ``admin_password``): the client listener is SASL_SSL, SCRAM inside TLS with this key store
    and CA. Clients and the broker's own inter-broker requests use that listener; the controller listener (the
    node talking to itself on 127.0.0.1 only) stays SASL_PLAINTEXT."""

    def __post_init__(self) -> None:
        if self.tls is not None and self.admin_password is None:
            raise PlatformError("TLS on the broker needs its SASL/SCRAM listener (an administrator password): set "
                                "GOVBUS_SECURITY=scram, or unset GOVBUS_TLS")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def quorum(self) -> tuple[tuple[int, int], ...]:
        """(node id, controller port) of every voter, this node's included."""
        return self.voters or ((self.node_id, self.controller_port),)

    @property
    def secured(self) -> bool:
        return self.admin_password is not None

    @property
    def admin(self) -> KafkaConnection:
        """How the platform's administrator reaches the node (over TLS, trusting the platform's CA, when on)."""
        if self.admin_password is None:
            return KafkaConnection(bootstrap=self.bootstrap)
        broker = KafkaConnection(bootstrap=self.bootstrap)
        if self.tls is not None:
            broker = KafkaConnection(bootstrap=self.bootstrap, security_protocol="SSL", tls_ca=self.tls.ca)
        return broker.with_credentials(ADMIN, self.admin_password)

    def server_properties(self) -> str:
        replicas = replication_for(len(self.quorum))
        min_isr = replicas.config.get("min.insync.replicas", "1")
        return "\n".join([
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            "controller.quorum.voters=" + ",".join(f"{node}@127.0.0.1:{port}" for node, port in self.quorum),
            *(self._secured_listeners() if self.secured else self._open_listeners()),
            f"log.dirs={self.data_dir / 'kraft-logs'}",
            f"num.partitions={self.partitions}",
            # every topic is created explicitly, with its intended partition count (govbus topics sync,
            # the stream processors), never implicitly by a client's first request
            "auto.create.topics.enable=false",
            f"offsets.topic.replication.factor={replicas.factor}",
            "offsets.topic.num.partitions=6",
            f"transaction.state.log.replication.factor={replicas.factor}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replicas.factor}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "group.initial.rebalance.delay.ms=0",
            "log.cleaner.backoff.ms=1000",
            *self._cluster_properties(),
            "",
        ])

    def _cluster_properties(self) -> list[str]:
        """A cluster's nodes only: a topic created without a replication factor gets the cluster's (not
        ``min.insync.replicas``, which would refuse ``acks=all`` writes to a topic made with fewer replicas);
        a killed node is fenced, its partitions' leadership moved, after 4 s without a heartbeat (the broker's
        default 9 s would stall writes that long)."""
        if len(self.quorum) == 1:
            return []
        return [f"default.replication.factor={replication_for(len(self.quorum)).factor}",
                "broker.heartbeat.interval.ms=1000", "broker.session.timeout.ms=4000"]

    def _open_listeners(self) -> list[str]:
        return [f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]

    def _secured_listeners(self) -> list[str]:
        # SCRAM credentials live in the cluster's metadata, which a controller cannot read before it runs:
        # the controller listener uses PLAIN with the administrator as its one static user
        password = self.admin_password
        client = "SASL_SSL" if self.tls is not None else "SASL_PLAINTEXT"  # the listener's name and protocol
        return [f"listeners={client}://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners={client}://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                f"inter.broker.listener.name={client}",
                f"listener.security.protocol.map={client}:{client},CONTROLLER:SASL_PLAINTEXT",
                *self._tls_stores(),
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                "sasl.mechanism.controller.protocol=PLAIN",
                f"listener.name.{client.lower()}.sasl.enabled.mechanisms=SCRAM-SHA-512",
                f"listener.name.{client.lower()}.scram-sha-512.sasl.jaas.config="
                f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
                f'password="{password}";',
                "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
                "listener.name.controller.plain.sasl.jaas.config="
                f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{ADMIN}" '
                f'password="{password}" user_{ADMIN}="{password}";',
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                f"super.users=User:{ADMIN}",
                "allow.everyone.if.no.acl.found=false"]

    def _tls_stores(self) -> list[str]:
        """PEM stores (KIP-651): the key store holds the unencrypted PKCS#8 key and the chain, so no
        ``ssl.key.password``; no store password either (Kafka refuses one for PEM). Clients are not asked
        for certificates (``ssl.client.auth=none``): they authenticate with SCRAM. The trust store is the
        platform's CA, for the broker's inter-broker requests to its own listener."""
        if self.tls is None:
            return []
        return ["ssl.keystore.type=PEM", f"ssl.keystore.location={self.tls.keystore}",
                "ssl.truststore.type=PEM", f"ssl.truststore.location={self.tls.ca}",
                "ssl.client.auth=none", "ssl.endpoint.identification.algorithm=https"]


def java_argv(config: KafkaNodeConfig, main_class: str, *args: str) -> list[str]:
    log_file = config.data_dir / "kafka-server.log"
    return [
        require_java(), f"-Xmx{config.heap}", f"-Xms{min_heap(config.heap)}",
        "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config.data_dir / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={log_file.parent}",
        "-cp", f"{config.libs}/*", main_class, *args,
    ]


def min_heap(heap: str) -> str:
    return "256m" if heap.lower().endswith("m") and int(heap[:-1]) > 256 else heap


def prepare(config: KafkaNodeConfig, cluster_id: str | None = None) -> Path:
    """Write the node's configuration and format its KRaft storage, if not yet formatted, with ``cluster_id``
    (a random one when None: a node of its own)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    properties = config.data_dir / "server.properties"
    properties.touch(mode=0o600)  # it holds the administrator's password when the node is secured
    properties.chmod(0o600)
    properties.write_text(config.server_properties())
    (config.data_dir / "log4j2.properties").write_text(
        _LOG4J2.format(log_file=config.data_dir / "kafka-server.log")
    )
    if not formatted(config):
        argv = java_argv(config, "kafka.tools.StorageTool", "format", "-t", cluster_id or _random_cluster_id(),
                         "-c", str(properties))
        if config.admin_password is not None:  # the administrator's SCRAM credential, in the first metadata
            argv += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={config.admin_password}]"]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise PlatformError(f"formatting Kafka storage failed: {(result.stdout + result.stderr).strip()}")
    return properties


def formatted(config: KafkaNodeConfig) -> bool:
    """True when the node's storage holds a cluster's metadata (it was formatted)."""
    return _meta_properties(config).exists()


def cluster_id(config: KafkaNodeConfig) -> str | None:
    """The id of the cluster the node's storage was formatted for; None when not formatted."""
    if not formatted(config):
        return None
    for line in _meta_properties(config).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    raise PlatformError(f"{_meta_properties(config)} names no cluster.id: the node's storage is damaged; delete "
                        f"{config.data_dir} (its data is lost) or restore it")


def _meta_properties(config: KafkaNodeConfig) -> Path:
    return config.data_dir / "kraft-logs" / "meta.properties"


def _random_cluster_id() -> str:
    """A KRaft cluster id (22 url-safe base64 characters); never starting with '-', which the storage
    tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def start(config: KafkaNodeConfig, timeout: float) -> tuple[int, float]:
    """Start a node of its own (:func:`launch`, :func:`wait_ready`); return its PID and the seconds until a
    metadata request succeeded."""
    pid = launch(config)
    return pid, wait_ready(config, pid, timeout)


def launch(config: KafkaNodeConfig, cluster: str | None = None) -> int:
    """Check the node's ports are free, prepare it (formatted with cluster id ``cluster`` if not yet) and start
    its process; its PID, without waiting for it to answer."""
    _require_free_ports(config)
    properties = prepare(config, cluster)
    return processes.start_process(java_argv(config, "kafka.Kafka", str(properties)), config.data_dir / "kafka.out")


def _require_free_ports(config: KafkaNodeConfig) -> None:
    node = f" of node {config.node_id}" if config.voters else ""
    processes.require_free_port(config.port, f"the Kafka broker listener{node}")
    processes.require_free_port(config.controller_port, f"the Kafka controller listener{node}")


def wait_ready(config: KafkaNodeConfig, pid: int, timeout: float) -> float:
    """The seconds until node ``pid`` answered a metadata request; :class:`StartupTimeoutError` (the node
    stopped) when it did not within ``timeout`` s or exited."""
    try:
        waited = processes.wait_until(
            lambda: metadata_ready(config.bootstrap, config.admin), timeout, f"Kafka broker on {config.bootstrap}",
            alive=lambda: processes.is_alive(pid), log_path=config.data_dir / "kafka-server.log",
        )
    except Exception:
        processes.stop_process(pid)
        raise
    log.info("kafka broker ready", extra={"bootstrap": config.bootstrap, "pid": pid, "node": config.node_id,
                                          "seconds": round(waited, 2)})
    return waited


def cluster_configs(node: KafkaNodeConfig, data_root: Path, count: int) -> list[KafkaNodeConfig]:
    """The nodes of a platform of ``count`` nodes, each like ``node`` (its ports node 1's): ``node`` itself in
    ``<data_root>/kafka`` for one; else nodes 1..``count`` in ``<data_root>/kafka-<n>``, on ports
    :data:`PORT_STEP` apart, all voters of one quorum."""
    dirs = node_dirs(data_root, count)
    if count == 1:
        return [replace(node, data_dir=dirs[0])]
    step = [PORT_STEP * n for n in range(count)]
    voters = tuple((n + 1, node.controller_port + step[n]) for n in range(count))
    return [replace(node, node_id=n + 1, data_dir=dirs[n], port=node.port + step[n],
                    controller_port=node.controller_port + step[n], voters=voters) for n in range(count)]


def node_dirs(data_root: Path, count: int) -> list[Path]:
    """The data directories of a platform of ``count`` nodes: ``kafka`` for one (where a single node always
    kept its data), ``kafka-1`` .. ``kafka-<count>`` for a cluster (a cluster never reuses a single node's
    storage: that node's one-voter quorum cannot grow by configuration)."""
    if count == 1:
        return [data_root / SINGLE_NODE_DIR]
    return [data_root / f"kafka-{n}" for n in range(1, count + 1)]


def bootstrap(configs: Sequence[KafkaNodeConfig]) -> str:
    """The bootstrap servers of ``configs``: ``127.0.0.1:p1,127.0.0.1:p2,...``."""
    return ",".join(config.bootstrap for config in configs)


def cluster_admin(configs: Sequence[KafkaNodeConfig]) -> KafkaConnection:
    """How the platform's administrator reaches the cluster of ``configs`` (every node in its bootstrap)."""
    return configs[0].admin.model_copy(update={"bootstrap": bootstrap(configs)})


def start_cluster(configs: Sequence[KafkaNodeConfig], timeout: float) -> tuple[list[int], float]:
    """Start every node of ``configs`` (see the module docstring); their PIDs and the seconds until the metadata
    listed them all. On any failure every node this call started is stopped."""
    for config in configs:  # every port is checked before anything starts
        _require_free_ports(config)
    known = {found for config in configs if (found := cluster_id(config)) is not None}
    if len(known) > 1:
        raise PlatformError(f"the nodes' storage in {configs[0].data_dir.parent} belongs to {len(known)} different "
                            "clusters: delete the kafka-<n> directories (their topics are lost) to start afresh")
    cluster = known.pop() if known else _random_cluster_id()
    pids: list[int] = []
    try:
        for config in configs:
            prepare(config, cluster)  # all formatted before any starts: a format is a JVM, slow beside a node
        started = time.monotonic()
        pids.extend(launch(config, cluster) for config in configs)
        for config, pid in zip(configs, pids, strict=True):
            wait_ready(config, pid, max(timeout - (time.monotonic() - started), 1.0))
        admin = cluster_admin(configs)
        processes.wait_until(lambda: broker_count(admin) >= len(configs),
                             max(timeout - (time.monotonic() - started), 1.0), f"{len(configs)} Kafka brokers")
    except Exception:
        stop_nodes(pids)
        raise
    seconds = time.monotonic() - started
    log.info("kafka cluster ready", extra={"bootstrap": bootstrap(configs), "pids": pids, "seconds": round(seconds, 2)})
    return pids, seconds


def broker_count(connection: KafkaConnection) -> int:
    """How many brokers the cluster's metadata lists now (0 when it does not answer)."""
    try:
        return len(clients.admin(connection, {"log_level": 0}).list_topics(timeout=2).brokers)
    except Exception:
        return 0


def replicate_offsets_topic(connection: KafkaConnection, nodes: int, timeout: float = 30.0) -> None:
    """On a cluster of ``nodes``, give the consumer offsets topic the ``min.insync.replicas`` of
    :func:`govbus.topics.replication_for` (no-op on one node). Kafka creates that topic at a group's first
    request, replicated by ``offsets.topic.replication.factor`` but with no ``min.insync.replicas`` of its own
    (the transaction state log has ``transaction.state.log.min.isr``), so it is set once the topic exists:
    ``govbus dev up`` calls this after the registry joined its election group."""
    config = replication_for(nodes).config
    if not config:
        return
    admin = clients.admin(connection)
    processes.wait_until(lambda: OFFSETS_TOPIC in admin.list_topics(timeout=5).topics, timeout,
                         f"the {OFFSETS_TOPIC} topic")
    entries = [ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in config.items()]
    resource = ConfigResource(ResourceType.TOPIC, OFFSETS_TOPIC, incremental_configs=entries)
    try:
        admin.incremental_alter_configs([resource])[resource].result(timeout=timeout)
    except KafkaException as exc:
        raise PlatformError(f"could not set {config} on {OFFSETS_TOPIC}: {exc.args[0].str()}; see the nodes' "
                            "kafka-server.log") from exc


def stop_nodes(pids: Sequence[int], timeout: float = 30.0) -> list[int]:
    """Stop the nodes ``pids`` all at once (one alone, its quorum lost, would wait for a controller); the PIDs
    that were running."""
    if not pids:
        return []
    with ThreadPoolExecutor(max_workers=len(pids)) as pool:
        ran = list(pool.map(lambda pid: processes.stop_process(pid, timeout=timeout), pids))
    return [pid for pid, running in zip(pids, ran, strict=True) if running]


def metadata_ready(bootstrap: str, connection: KafkaConnection | None = None) -> bool:
    """True when the broker answers a metadata request (made as ``connection``'s principal, if given)."""
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            pass
    except OSError:
        return False
    admin = clients.admin(connection or KafkaConnection(bootstrap=bootstrap), {"log_level": 0})
    try:
        metadata = admin.list_topics(timeout=2)
    except Exception:
        return False
    return bool(metadata.brokers)
