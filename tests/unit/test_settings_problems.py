"""Invalid settings are reported on one line, each problem after the variable that sets it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.outbox.settings import OutboxSettings
from govbus.settings import ClientSettings, settings_problems


def test_each_problem_names_its_variable_nested_ones_with_the_double_underscore(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError) as raised:
        ClientSettings()
    line = settings_problems(raised.value)
    assert line.startswith("GOVBUS_KAFKA: security protocol SASL_SSL needs a user name and a password")
    assert "errors.pydantic.dev" not in line and "\n" not in line

    monkeypatch.delenv("GOVBUS_KAFKA__SECURITY_PROTOCOL")
    with pytest.raises(ValidationError) as raised:
        OutboxSettings()
    assert settings_problems(raised.value) == \
        "GOVBUS_OUTBOX_DSN: Field required; GOVBUS_OUTBOX_DEPARTMENT: Field required"
