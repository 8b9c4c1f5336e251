"""The topic and subject naming convention (govbus.topic_names)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from govbus.exceptions import ConfigurationError
from govbus.topic_names import (
    TopicSettings,
    canonical_topic,
    dead_letter_topic,
    department_topic,
    item_segment,
    item_topics,
    value_subject,
)


def test_default_names() -> None:
    assert department_topic("natural-resources", "real_estate_registration") == \
        "govbus.dept.natural-resources.real-estate-registration"
    assert canonical_topic("credit_record") == "govbus.canonical.credit-record"
    assert dead_letter_topic("credit_record") == "govbus.dead-letter.credit-record"
    assert value_subject("govbus.canonical.credit-record") == "govbus.canonical.credit-record-value"


def test_prefix_replaces_the_root() -> None:
    topics = item_topics("finance", "government_procurement_award", "govbus.test-1a2b")
    assert topics.all() == ["govbus.test-1a2b.dept.finance.government-procurement-award",
                            "govbus.test-1a2b.canonical.government-procurement-award",
                            "govbus.test-1a2b.dead-letter.government-procurement-award"]
    assert topics.department_subject == "govbus.test-1a2b.dept.finance.government-procurement-award-value"
    assert topics.canonical_subject == "govbus.test-1a2b.canonical.government-procurement-award-value"


@pytest.mark.parametrize("prefix", ["", "Govbus", "govbus_test", "govbus..x", ".govbus", "govbus.", "gov bus"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="topic prefix"):
        canonical_topic("credit_record", prefix)
    with pytest.raises(PydanticValidationError):
        TopicSettings(topic_prefix=prefix)


def test_bad_items_and_departments_are_refused() -> None:
    assert item_segment("tax_payment_certificate") == "tax-payment-certificate"
    with pytest.raises(ConfigurationError, match="cannot be part of a topic name"):
        item_segment("Tax.Certificate")
    with pytest.raises(ConfigurationError, match="department slug"):
        department_topic("Natural Resources", "credit_record")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVBUS_TOPIC_PREFIX", raising=False)
    assert TopicSettings().topic_prefix == "govbus"
    monkeypatch.setenv("GOVBUS_TOPIC_PREFIX", "govbus.ci-7")
    assert TopicSettings().topic_prefix == "govbus.ci-7"
