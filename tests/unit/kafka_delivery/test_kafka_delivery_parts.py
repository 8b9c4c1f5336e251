"""The Kafka delivery's pure parts: the message a subscriber reads, the refusal of items whose keys would need a
missing pseudonym key, the delivery topic's name and size, and the checks a kafka delivery and its connector make."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.kafka_delivery.connector import KafkaDeliveryConnector, check_kafka
from connectors.kafka_delivery.messages import delivery_message, delivery_partitions
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from connectors.webhook.payload import dumps, shape_event
from connectors.webhook.plans import authorise_items
from connectors.webhook.unkeyed import refuse_unkeyed
from govbus.commands.settings_docs import rows
from govbus.exceptions import ConfigurationError
from govbus.sharing.model import Delivery, DeliveryKind, Subscription, load_subscription
from govbus.sharing.pseudonyms import PSEUDONYM_KEY_VARIABLE, PSEUDONYM_PREFIX, PseudonymKey
from govbus.sharing.store import SharingSnapshot
from govbus.topic_names import delivery_topic
from schemas.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
ENTERPRISE = "enterprise_registration"
PSEUDONYMS = PseudonymKey("platform-key-of-the-kafka-delivery-tests").for_subscriber("hz-centre")
RECORD = {"uscc": "91330106MA2B3C4D5E", "name": "华信有限公司", "legal_representative": "王小明",
          "address": "never sent"}


def _subscription(fields: list[str], kind: str = "kafka") -> Subscription:
    delivery = {"kind": kind} if kind == "kafka" else {"kind": kind, "url": "http://127.0.0.1:1/x", "secret_env": "X"}
    return Subscription.model_validate({"name": "hz", "subscriber": "hz-centre", "delivery": delivery,
                                        "items": [{"item": ENTERPRISE, "fields": fields}]})


def _event(operation: str = "UPSERT") -> dict[str, object]:
    return {"event_id": uuid.UUID(int=7), "data_item": ENTERPRISE, "department": "market-regulation",
            "operation": operation, "record_key": RECORD["uscc"], "occurred_at": NOW, "published_at": NOW,
            "trace_id": "t1", "record": None if operation == "DELETE" else RECORD}


def test_the_message_is_the_webhook_event_keyed_by_record_key_with_id_and_item_headers() -> None:
    authorisation = authorise_items(_subscription(["uscc", "name", "legal_representative"]), CATALOGUE, [], NOW,
                                    "govbus", 1)
    decision = authorisation.decide(ENTERPRISE)
    assert decision.plan is not None
    shaped = shape_event(_event(), decision.plan, decision.key_fields, None)
    message = delivery_message(shaped)
    assert message.key == b"91330106MA2B3C4D5E"
    value = json.loads(message.value)
    assert value == json.loads(dumps(shaped.body)), "the webhook's event body, as JSON"
    assert value["record"] == {"uscc": "91330106MA2B3C4D5E", "name": "华信有限公司", "legal_representative": "王**"}
    assert value["masked_fields"] == ["legal_representative"]
    assert message.headers == [("govbus.event_id", str(uuid.UUID(int=7)).encode()),
                               ("govbus.item", ENTERPRISE.encode()), ("govbus.operation", b"UPSERT")]
    deleted = json.loads(delivery_message(shape_event(_event("DELETE"), decision.plan, decision.key_fields,
                                                      None)).value)
    assert deleted["operation"] == "DELETE" and deleted["record"] is None


def test_a_key_the_subscriber_may_not_see_is_refused_without_a_pseudonym_key_and_a_pseudonym_with_one() -> None:
    authorisation = authorise_items(_subscription(["name"]), CATALOGUE, [], NOW, "govbus", 1)
    refused = refuse_unkeyed(authorisation, has_pseudonym_key=False).decide(ENTERPRISE)
    assert refused.plan is None and PSEUDONYM_KEY_VARIABLE in (refused.reason or "")
    assert "uscc" in (refused.reason or "") and RECORD["uscc"] not in (refused.reason or "")
    kept = refuse_unkeyed(authorisation, has_pseudonym_key=True)
    assert kept is authorisation
    decision = kept.decide(ENTERPRISE)
    assert decision.plan is not None
    message = delivery_message(shape_event(_event(), decision.plan, decision.key_fields, PSEUDONYMS))
    assert message.key.startswith(PSEUDONYM_PREFIX.encode()) and RECORD["uscc"].encode() not in message.key
    assert message.key == delivery_message(shape_event(_event(), decision.plan, decision.key_fields,
                                                       PSEUDONYMS)).key, "stable"
    in_clear = authorise_items(_subscription(["uscc", "name"]), CATALOGUE, [], NOW, "govbus", 1)
    assert refuse_unkeyed(in_clear, has_pseudonym_key=False) is in_clear


def test_the_delivery_topic_is_named_after_the_subscriber_and_subscription_and_sized_after_its_sources() -> None:
    assert delivery_topic("hz-centre", "hz-kafka", "govbus.t-1") == "govbus.t-1.delivery.hz-centre.hz-kafka"
    with pytest.raises(ConfigurationError, match="subscription name 'Hz_Kafka' is invalid"):
        delivery_topic("hz-centre", "Hz_Kafka")
    assert delivery_partitions({"a": 3, "b": 6, "other": 12}, ["a", "b", "missing"]) == 6
    assert delivery_partitions({"other": 12}, ["missing"]) == 1


def test_a_kafka_delivery_takes_no_url_secret_or_dsn(tmp_path: Path) -> None:
    assert Delivery(kind=DeliveryKind.KAFKA).kind is DeliveryKind.KAFKA
    with pytest.raises(ValidationError, match="a kafka delivery takes no url, secret_env: the platform writes"):
        Delivery(kind=DeliveryKind.KAFKA, url="http://x", secret_env="S")
    path = tmp_path / "sub.yaml"
    path.write_text("name: hz\nsubscriber: hz-centre\nitems: [{item: enterprise_registration, fields: [uscc]}]\n"
                    "delivery: {kind: kafka, dsn_env: MIRROR_DSN}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"delivery: Value error, a kafka delivery takes no dsn_env"):
        load_subscription(path)


class _Store:
    def __init__(self, subscription: Subscription) -> None:
        self.snapshot = SharingSnapshot({subscription.name: subscription}, {})

    def load(self) -> SharingSnapshot:
        return self.snapshot


def _settings(**values: object) -> KafkaDeliverySettings:
    return KafkaDeliverySettings.model_validate({"kafka_delivery_subscription": "hz", **values})


def test_the_connector_refuses_another_kind_and_keys_it_could_not_hide() -> None:
    with pytest.raises(ConfigurationError, match=r"'hz' is delivered by webhook, not by kafka; .*govbus run webhook"):
        check_kafka(_subscription(["uscc"], kind="webhook"))
    store = _Store(_subscription(["name"]))
    with pytest.raises(ConfigurationError, match=f"no pseudonym key is set \\({PSEUDONYM_KEY_VARIABLE}\\)"):
        KafkaDeliveryConnector(_settings(), CATALOGUE, store=store)  # type: ignore[arg-type]


def test_the_pseudonym_key_is_the_platforms_shared_secret_setting_and_its_old_name_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    [row] = [r for r in rows(KafkaDeliverySettings) if r.env == PSEUDONYM_KEY_VARIABLE]
    assert row.secret and row.default == "(none)"
    settings = _settings(pseudonym_key="s3cret-pseudonym-key-of-32-characters")
    assert settings.platform_pseudonym_key() is not None
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert _settings(pseudonym_key="").platform_pseudonym_key() is None
    with pytest.raises(ConfigurationError, match=r"shorter than 32 characters.*openssl rand -hex 32") as short:
        _settings(pseudonym_key="s3cret-but-short").platform_pseudonym_key()
    assert "s3cret" not in str(short.value)
    monkeypatch.setenv("GOVBUS_KAFKA_DELIVERY_PSEUDONYM_KEY", "s3cret-pseudonym-key-of-32-characters")
    with pytest.raises(ValidationError, match="GOVBUS_KAFKA_DELIVERY_PSEUDONYM_KEY is now GOVBUS_PSEUDONYM_KEY") as old:
        _settings()
    assert "s3cret" not in str(old.value)
