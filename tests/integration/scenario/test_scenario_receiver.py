"""The scenario's webhook receiver (bench/scenario/receiver.py) as a real process: it records every signed
event it accepts, repeats included, and its control port makes it answer 429 or be unreachable for a while."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from bench.scenario.receiver import ReceiverProcess
from govbus.platform import processes


@pytest.fixture
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def receiver(tmp_path: Path, secret: str) -> Iterator[ReceiverProcess]:
    started = ReceiverProcess.start(tmp_path / "deliveries" / "centre.jsonl", secret, tmp_path / "receiver.log")
    try:
        yield started
    finally:
        started.stop()


def event(item: str = "enterprise_registration") -> dict[str, Any]:
    event_id = uuid.uuid4().hex
    return {"event_id": event_id, "idempotency_key": event_id, "item": item, "operation": "UPSERT",
            "published_at": dt.datetime.now(dt.UTC).isoformat(), "record": {"uscc": "91330106MA2B3C4D5E",
                                                                             "name": "华信有限公司"}}


def signed(secret: str, body: bytes) -> dict[str, str]:
    message_id, now = uuid.uuid4().hex, dt.datetime.now(dt.UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, body), "content-type": "application/json"}


def post(client: httpx.Client, receiver: ReceiverProcess, secret: str, events: list[dict[str, Any]]) -> int:
    body = json.dumps({"subscription": "centre", "events": events}).encode()
    return client.post(receiver.url, content=body, headers=signed(secret, body), timeout=5).status_code


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_accepted_event_is_written_with_its_record_repeats_included(receiver: ReceiverProcess,
                                                                          secret: str) -> None:
    batch = [event(), event("tax_payment_certificate")]
    with httpx.Client() as client:
        assert post(client, receiver, secret, batch) == 204
        assert post(client, receiver, secret, batch[:1]) == 204  # a redelivery
        body = json.dumps({"events": [event()]}).encode()
        assert client.post(receiver.url, content=body, headers=signed("whsec_" + base64.b64encode(b"x" * 24).decode(),
                                                                       body)).status_code == 401

    written = lines(receiver.out)
    assert [line["event_id"] for line in written] == [batch[0]["event_id"], batch[1]["event_id"], batch[0]["event_id"]]
    assert [line["event"] for line in written] == [batch[0], batch[1], batch[0]]
    assert written[1]["item"] == "tax_payment_certificate"
    published = dt.datetime.fromisoformat(batch[0]["published_at"]).timestamp()
    assert written[0]["published_at"] == pytest.approx(published)
    assert published <= written[0]["t_received"] <= time.time()
    assert receiver.stats() == {"accepted": 3, "repeats": 1, "requests": 2, "unverified": 1, "malformed": 0,
                                "refused_429": 0, "mode": "ok", "mode_seconds_left": None}


def back_to_ok(client: httpx.Client, receiver: ReceiverProcess, secret: str, since: float,
               timeout: float = 10) -> float:
    """Post one event every 0.1 s until it is taken; the seconds from ``since`` (monotonic) until then."""
    while time.monotonic() - since < timeout:
        try:
            if post(client, receiver, secret, [event()]) == 204:
                return time.monotonic() - since
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the receiver did not take a batch within {timeout} s")


def test_control_429_answers_too_many_requests_with_retry_after_then_ok(receiver: ReceiverProcess,
                                                                        secret: str) -> None:
    with httpx.Client() as client:
        asked = time.monotonic()
        assert receiver.control("429", 2)["mode"] == "429"
        body = json.dumps({"events": [event()]}).encode()
        refused = client.post(receiver.url, content=body, headers=signed(secret, body))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] in {"1", "2"}
        waited = back_to_ok(client, receiver, secret, asked)

    assert 2.0 <= waited < 5.0
    stats = receiver.stats()
    assert stats["mode"] == "ok" and stats["refused_429"] >= 1 and stats["accepted"] == 1
    assert len(lines(receiver.out)) == 1  # the refused batches were not written


def test_control_down_refuses_connections_then_listens_again(receiver: ReceiverProcess, secret: str) -> None:
    with httpx.Client() as client:  # one kept-alive connection, open before the fault: dropped too
        assert post(client, receiver, secret, [event()]) == 204
        asked = time.monotonic()
        assert receiver.control("down", 2)["mode"] == "down"
        with pytest.raises((httpx.ConnectError, httpx.ReadError)):  # reset, or refused when it reconnects
            post(client, receiver, secret, [event()])
        with pytest.raises(httpx.ConnectError):
            httpx.post(receiver.url, content=b"{}", timeout=2)
        assert receiver.stats()["mode"] == "down"  # the control port stays up
        waited = back_to_ok(client, receiver, secret, asked)

    assert 2.0 <= waited < 5.0
    assert receiver.stats()["accepted"] == 2
    assert len(lines(receiver.out)) == 2


def test_control_ok_ends_a_fault_at_once_and_bad_requests_are_refused(receiver: ReceiverProcess,
                                                                      secret: str) -> None:
    receiver.control("down")  # until told otherwise
    assert receiver.stats()["mode_seconds_left"] is None
    receiver.control("ok")
    with httpx.Client() as client:
        assert post(client, receiver, secret, [event()]) == 204
        body = b'{"events": [1, 2]}'
        assert client.post(receiver.url, content=body, headers=signed(secret, body)).status_code == 400
    bad = httpx.post(f"{receiver.control_url}/control", json={"mode": "sideways", "seconds": 1})
    assert bad.status_code == 400 and "mode" in bad.text


def test_stop_by_pid_ends_the_process(tmp_path: Path, secret: str) -> None:
    started = ReceiverProcess.start(tmp_path / "out.jsonl", secret, tmp_path / "receiver.log")
    assert processes.is_alive(started.pid)
    assert started.stop()
    assert not processes.is_alive(started.pid)
    assert not started.answers()
    assert '"scenario receiver stopped"' in (tmp_path / "receiver.log").read_text()
