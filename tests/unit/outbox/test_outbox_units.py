"""Pure parts of the outbox connector: settings, positions, migrations shipped, acknowledgement check."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import Future

import pytest
from pydantic import ValidationError as SettingsError

from connectors.outbox.connector import _raise_unacknowledged
from connectors.outbox.migrate import shipped_migrations
from connectors.outbox.reader import START, Position, Waiting
from connectors.outbox.settings import OutboxSettings, redact_dsn
from connectors.outbox.status import OutboxStatus, RejectedRow
from govbus.exceptions import DeliveryError


def test_settings_come_from_govbus_outbox_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBUS_OUTBOX_DSN", "postgresql://app:s3cret@db.example:5432/registration")
    monkeypatch.setenv("GOVBUS_OUTBOX_DEPARTMENT", "market-regulation")
    monkeypatch.setenv("GOVBUS_OUTBOX_SOURCE_SYSTEM", "registration-db")
    monkeypatch.setenv("GOVBUS_OUTBOX_NAME", "registration-outbox")
    monkeypatch.setenv("GOVBUS_OUTBOX_BATCH_SIZE", "250")
    monkeypatch.setenv("GOVBUS_OUTBOX_POLL_INTERVAL", "0.2")
    monkeypatch.setenv("GOVBUS_OUTBOX_METRICS_PORT", "9311")
    monkeypatch.setenv("GOVBUS_TOPIC_PREFIX", "govbus.test-1a2b")
    settings = OutboxSettings()
    assert (settings.outbox_department, settings.outbox_source_system, settings.outbox_name) == (
        "market-regulation", "registration-db", "registration-outbox")
    assert (settings.outbox_batch_size, settings.outbox_poll_interval, settings.outbox_metrics_port) == (250, 0.2, 9311)
    assert settings.topic_prefix == "govbus.test-1a2b"
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.redacted())
    assert "db.example" in str(settings.redacted()["outbox_dsn"])


def test_settings_require_a_dsn_and_a_department_slug(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOVBUS_OUTBOX_DSN", "GOVBUS_OUTBOX_DEPARTMENT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as missing:
        OutboxSettings()
    assert {e["loc"][0] for e in missing.value.errors()} == {"outbox_dsn", "outbox_department"}
    with pytest.raises(SettingsError):
        OutboxSettings(outbox_dsn="dbname=x", outbox_department="Market Regulation")
    with pytest.raises(SettingsError):
        OutboxSettings(outbox_dsn="dbname=x", outbox_department="market-regulation", outbox_batch_size=0)


def test_redact_dsn_hides_passwords_in_both_forms() -> None:
    assert "hunter2" not in redact_dsn("host=db user=app password=hunter2 dbname=reg")
    assert "hunter2" not in redact_dsn("postgresql://app:hunter2@db/reg")
    assert "***" in redact_dsn("postgresql://app:hunter2@db/reg")
    assert sorted(redact_dsn("host=db dbname=reg").split()) == ["dbname=reg", "host=db"]


def test_positions_order_by_transaction_then_id() -> None:
    # a lower id in a later transaction comes after a higher id in an earlier one
    assert Position(txid=100, id=9) < Position(txid=101, id=3)
    assert Position(txid=100, id=3) < Position(txid=100, id=9)
    assert START < Position(1, 1)
    # xid8 values exceed 2**32 after wrap-around epochs; they are sent as text
    assert Position(2**40, 1).params() == {"txid": str(2**40), "id": 1}


def test_waiting_splits_ready_and_held_back_rows() -> None:
    assert Waiting(total=10, ready=7, oldest=None).held_back == 3


def test_the_shipped_migration_is_found_and_idempotent_in_form() -> None:
    migrations = shipped_migrations()
    assert [m.version for m in migrations] == ["001_outbox"]
    sql = migrations[0].sql
    for table in ("govbus_outbox", "govbus_outbox_position", "govbus_outbox_rejected"):
        assert f"CREATE TABLE IF NOT EXISTS {table} (" in sql
    assert "pg_current_xact_id()" in sql and "gen_random_uuid()" in sql


def _done(value: object = None, error: Exception | None = None) -> Future[object]:
    future: Future[object] = Future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
    return future


def test_a_batch_counts_as_published_only_when_every_row_was_acknowledged() -> None:
    _raise_unacknowledged([_done(1), _done(2)], Position(5, 1))
    with pytest.raises(DeliveryError, match=r"1 of 3 rows .* txid 5, id 1 .*timed out"):
        _raise_unacknowledged([_done(1), _done(error=DeliveryError("timed out")), _done(3)], Position(5, 1))
    pending: Future[object] = Future()
    with pytest.raises(DeliveryError, match="no acknowledgement before the flush timeout"):
        _raise_unacknowledged([_done(1), pending], Position(5, 1))


def test_status_json_names_position_waiting_and_rejections() -> None:
    when = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    status = OutboxStatus(
        connector="c", position=Position(2**33, 7), position_updated_at=when, rows_waiting=5, rows_ready=3,
        rows_held_back=2, oldest_waiting_at=when, rejected=1,
        latest_rejected=[RejectedRow(9, str(uuid.UUID(int=1)), "enterprise_registration", "uscc",
                                     "uscc.check_character", "wrong check character", when)],
    )
    data = status.as_json()
    assert data["position"] == {"txid": str(2**33), "id": 7, "updated_at": when.isoformat()}
    assert (data["rows_waiting"], data["rows_ready"], data["rows_held_back"], data["rejected"]) == (5, 3, 2, 1)
    assert data["latest_rejected"][0]["rule"] == "uscc.check_character"
