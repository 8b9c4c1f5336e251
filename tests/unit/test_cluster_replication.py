"""Replication by cluster size, and the local cluster's node configurations (nothing started)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from govbus.exceptions import PlatformError
from govbus.platform import dev, kafka
from govbus.platform.processes import free_port
from govbus.settings import CLUSTER_PORT_STEP, PlatformSettings
from govbus.topics import Replication, replication_for


def _properties(config: kafka.KafkaNodeConfig) -> dict[str, str]:
    return dict(line.split("=", 1) for line in config.server_properties().splitlines() if line)


@pytest.mark.parametrize(("brokers", "expected"), [
    (0, Replication(1)), (1, Replication(1)), (2, Replication(2)),
    (3, Replication(3, {"min.insync.replicas": "2"})), (5, Replication(3, {"min.insync.replicas": "2"})),
])
def test_three_replicas_and_two_in_sync_from_three_brokers(brokers: int, expected: Replication) -> None:
    assert replication_for(brokers) == expected


def _node(tmp_path: Path) -> kafka.KafkaNodeConfig:
    return kafka.KafkaNodeConfig(data_dir=tmp_path, libs=tmp_path, port=19092, controller_port=19093,
                                 admin_password="pw")


def test_one_node_is_configured_as_before(tmp_path: Path) -> None:
    [node] = kafka.cluster_configs(_node(tmp_path), tmp_path / "dev", 1)
    assert node.data_dir == tmp_path / "dev" / "kafka" and node.bootstrap == "127.0.0.1:19092"
    properties = _properties(node)
    assert (properties["node.id"], properties["controller.quorum.voters"]) == ("1", "1@127.0.0.1:19093")
    assert {key: properties[key] for key in ("offsets.topic.replication.factor", "transaction.state.log.min.isr",
                                             "transaction.state.log.replication.factor")} == dict.fromkeys(
        ("offsets.topic.replication.factor", "transaction.state.log.min.isr",
         "transaction.state.log.replication.factor"), "1")
    assert "default.replication.factor" not in properties and "broker.session.timeout.ms" not in properties


def test_three_nodes_share_one_quorum_on_their_own_ports_and_directories(tmp_path: Path) -> None:
    nodes = kafka.cluster_configs(_node(tmp_path), tmp_path / "dev", 3)
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert [n.port for n in nodes] == [19092 + CLUSTER_PORT_STEP * i for i in range(3)]
    assert [n.data_dir.name for n in nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert kafka.bootstrap(nodes) == ",".join(f"127.0.0.1:{19092 + CLUSTER_PORT_STEP * i}" for i in range(3))
    assert kafka.cluster_admin(nodes).bootstrap == kafka.bootstrap(nodes)
    voters = ",".join(f"{i + 1}@127.0.0.1:{19093 + CLUSTER_PORT_STEP * i}" for i in range(3))
    for node in nodes:
        properties = _properties(node)
        assert properties["node.id"] == str(node.node_id) and properties["controller.quorum.voters"] == voters
        assert properties["listeners"].startswith(f"SASL_PLAINTEXT://127.0.0.1:{node.port},")
        assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
        assert (properties["offsets.topic.replication.factor"], properties["transaction.state.log.replication.factor"],
                properties["transaction.state.log.min.isr"], properties["default.replication.factor"]) == (
            "3", "3", "2", "3")
        assert "min.insync.replicas" not in properties, "a topic made with one replica stays writable"


def test_nodes_of_different_clusters_are_refused_before_anything_starts(tmp_path: Path) -> None:
    node = kafka.KafkaNodeConfig(data_dir=tmp_path, libs=tmp_path, port=free_port(), controller_port=free_port())
    nodes = kafka.cluster_configs(node, tmp_path / "dev", 3)
    for config, cluster in zip(nodes[:2], ("first-cluster-id", "other-cluster-id"), strict=True):
        (config.data_dir / "kraft-logs").mkdir(parents=True)
        (config.data_dir / "kraft-logs" / "meta.properties").write_text(f"version=1\ncluster.id={cluster}\n")
    assert kafka.cluster_id(nodes[0]) == "first-cluster-id" and kafka.cluster_id(nodes[2]) is None
    with pytest.raises(PlatformError, match="2 different clusters"):
        kafka.start_cluster(nodes, timeout=1)


def test_a_state_file_of_an_earlier_release_names_its_one_node() -> None:
    state = dev.PlatformState(kafka_bootstrap="127.0.0.1:19092", registry_url="http://127.0.0.1:18081", kafka_pid=7,
                              registry_pid=8, kafka_version="4.4.0", data_dir="/nowhere")
    assert state.broker_pids == [7] and state.node_bootstraps == ["127.0.0.1:19092"]
    assert [(n["node_id"], n["pid"]) for n in state.nodes()] == [(1, 7)]


def test_only_one_node_or_a_cluster_of_three(tmp_path: Path) -> None:
    assert PlatformSettings(home=tmp_path, dev_brokers=3).dev_brokers == 3
    with pytest.raises(ValidationError, match="set 1 or 3"):
        PlatformSettings(home=tmp_path, dev_brokers=2)
