"""`govbus streams dialects` and the normaliser's settings errors, without a broker."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govbus.cli import main
from streams.dialects import ITEMS


def test_dialects_lists_every_dialect_with_its_topic() -> None:
    result = CliRunner().invoke(main, ["streams", "dialects", "--json", "--topic-prefix", "govbus.t"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {row["item"] for row in rows} == set(ITEMS)
    assert len(rows) == 3 * len(ITEMS)
    zhejiang = next(row for row in rows if row["dialect"] == "zhejiang-aic-v2")
    assert zhejiang["topic"] == "govbus.t.local.market-regulation.enterprise-registration.zhejiang-aic-v2"


def test_dialects_of_one_item_as_a_table() -> None:
    result = CliRunner().invoke(main, ["streams", "dialects", "--item", "identity_verification"])
    assert result.exit_code == 0 and "hubei-rkk-v1" in result.output and "zhejiang" not in result.output


@pytest.mark.parametrize(("env", "message"), [
    ({"GOVBUS_NORMALISER_PARTITIONS": "0"}, "normaliser_partitions"),
    ({"GOVBUS_NORMALISER_ITEMS": "enterprise_registraton"}, "did you mean enterprise_registration"),
])
def test_bad_settings_are_one_line_errors(env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(main, ["streams", "topics"], env=env)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
