"""`govbus topics sync` creates the catalogue's topics and the stream processors' own ones, the
repartition topic and the state changelogs included (the broker's auto-creation is off)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from confluent_kafka.admin import ConfigResource, ResourceType

from govbus import clients
from govbus.topic_names import canonical_topic, item_topics, sources_topic
from schemas.catalogue import load_catalogue
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import normaliser_topics
from streams.profiles.topology import ProfileSettings, ProfileTopology
from testsupport.connections import kafka_at


def test_sync_creates_catalogue_and_processor_topics_with_their_policies(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = {**os.environ, "GOVBUS_KAFKA__BOOTSTRAP": kafka_bootstrap, "GOVBUS_TOPIC_PREFIX": f"govbus.sync-{suffix}",
           "GOVBUS_NORMALISER_APP_ID": f"norm-{suffix}", "GOVBUS_PROFILES_APP_ID": f"prof-{suffix}"}
    done = subprocess.run([sys.executable, "-m", "govbus.cli", "topics", "sync", "--partitions", "2"], env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr

    prefix = env["GOVBUS_TOPIC_PREFIX"]
    catalogue = {name for item in load_catalogue().items()
                 for name in item_topics(item.department, item.name, prefix).all()}
    normaliser = {spec.name for spec in normaliser_topics(NormaliserSettings(
        topic_prefix=prefix, normaliser_app_id=env["GOVBUS_NORMALISER_APP_ID"], normaliser_partitions=2))}
    topology = ProfileTopology(ProfileSettings(topic_prefix=prefix, profiles_app_id=env["GOVBUS_PROFILES_APP_ID"],
                                               profiles_partitions=2))
    profiles = {spec.name for spec in topology.topic_specs()}
    repartition = topology.repartition_topic("person")
    assert repartition in profiles and topology.changelog_topic(repartition) in profiles
    assert f"changelog__norm-{suffix}--{prefix}.dept.market-regulation.enterprise-registration--default" in normaliser
    assert canonical_topic("credit_record", prefix) in catalogue
    assert f"{len(catalogue | normaliser | profiles)} topics ready" in done.stdout + done.stderr

    admin = clients.admin(kafka_at(kafka_bootstrap))
    existing = admin.list_topics(timeout=30).topics
    missing = (catalogue | normaliser | profiles) - set(existing)
    assert not missing
    heartbeats = sources_topic(prefix)  # one partition by design: a few records per source, read whole
    assert heartbeats in normaliser and len(existing[heartbeats].partitions) == 1
    assert {len(existing[name].partitions) for name in catalogue | normaliser | profiles if name != heartbeats} == {2}
    changelogs = [name for name in normaliser | profiles if name.startswith("changelog__")]
    profile_topic = topology.output_topic("person")
    configs = admin.describe_configs([_resource(name) for name in [*changelogs[:3], profile_topic, repartition]])
    policies = {resource.name: future.result()["cleanup.policy"].value for resource, future in configs.items()}
    assert policies == {**dict.fromkeys(changelogs[:3], "compact"), profile_topic: "compact", repartition: "delete"}


def _resource(name: str) -> ConfigResource:
    return ConfigResource(ResourceType.TOPIC, name)
