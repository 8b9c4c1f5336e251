"""One Apache Kafka node in KRaft mode (broker and controller combined) on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import PlatformError
from govbus.platform import processes
from govbus.platform.jars import require_java
from govbus.platform.tls import BrokerTls

log = logging.getLogger(__name__)
ADMIN = "admin"
"""the super user of a secured node"""

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
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            *(self._secured_listeners() if self.secured else self._open_listeners()),
            f"log.dirs={self.data_dir / 'kraft-logs'}",
            f"num.partitions={self.partitions}",
            # every topic is created explicitly, with its intended partition count (govbus topics sync,
            # the stream processors), never implicitly by a client's first request
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.cleaner.backoff.ms=1000",
            "",
        ])


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


def prepare(config: KafkaNodeConfig) -> Path:
    """Write the node's configuration and format its KRaft storage if not yet formatted."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    properties = config.data_dir / "server.properties"
    properties.touch(mode=0o600)  # it holds the administrator's password when the node is secured
    properties.chmod(0o600)
    properties.write_text(config.server_properties())
    (config.data_dir / "log4j2.properties").write_text(
        _LOG4J2.format(log_file=config.data_dir / "kafka-server.log")
    )
    if not (config.data_dir / "kraft-logs" / "meta.properties").exists():
        cluster_id = _random_cluster_id()
        argv = java_argv(config, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties))
        if config.admin_password is not None:  # the administrator's SCRAM credential, in the first metadata
            argv += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={config.admin_password}]"]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise PlatformError(f"formatting Kafka storage failed: {(result.stdout + result.stderr).strip()}")
    return properties


def _random_cluster_id() -> str:
    """A KRaft cluster id (22 url-safe base64 characters); never starting with '-', which the storage
    tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def start(config: KafkaNodeConfig, timeout: float) -> tuple[int, float]:
    """Start the node; return its PID and the seconds until a metadata request succeeded."""
    processes.require_free_port(config.port, "the Kafka broker listener")
    processes.require_free_port(config.controller_port, "the Kafka controller listener")
    properties = prepare(config)
    log_path = config.data_dir / "kafka.out"
    pid = processes.start_process(java_argv(config, "kafka.Kafka", str(properties)), log_path)
    try:
        waited = processes.wait_until(
            lambda: metadata_ready(config.bootstrap, config.admin), timeout, f"Kafka broker on {config.bootstrap}",
            alive=lambda: processes.is_alive(pid), log_path=config.data_dir / "kafka-server.log",
        )
    except Exception:
        processes.stop_process(pid)
        raise
    log.info("kafka broker ready", extra={"bootstrap": config.bootstrap, "pid": pid, "seconds": round(waited, 2)})
    return pid, waited


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
