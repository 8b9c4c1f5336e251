"""A receiver holding everything it is sent cannot recover a masked identity number (issue #11, point 1).

The real connector delivers identity records whose key, the resident identity number, the subscriber receives
masked (``110101********1239``): the masked form leaves only the birth date unknown (the sequence and the check
character are shown), so a receiver able to compute the record key's pseudonym would find the number by trying
every date. Here the receiver has the masked field, the pseudonym, the signing secret, its subscriber and
subscription names and the item, tries every date since 1900 under every keying it could use, and recovers
none; the platform, holding the pseudonym key, recovers all of them with the same search (the search is sound).
After the signing secret is rotated, the same records arrive under the same pseudonyms."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

from webhook_support import SECRET_ENV, CanonicalWriter, SigningReceiver, subscription, wait_for

from connectors.webhook.signing_secrets import new_secret
from govbus.demo.synthetic_items import records_for
from govbus.identifiers import id_check_character
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.model import Grant
from govbus.sharing.pseudonyms import PseudonymKey
from govbus.sharing.store import SharingStore

ITEM = "identity_verification"
FIELDS = ["resident_id", "name", "gender", "card_status"]
NAME = "idcheck"
SUBSCRIBER = f"{NAME}-centre"
PEOPLE = 4
FIRST_DAY = dt.date(1900, 1, 1)


def _grant() -> Grant:
    """Public security's grant of identity records, the resident id masked (not in ``unmasked``)."""
    return Grant(grant_id=f"{NAME}-id", subscriber=SUBSCRIBER, item=ITEM, approved_by="public-security",
                 purpose="identity checks at the service counter", fields=FIELDS, unmasked=[],
                 expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))


def _candidates(masked: str) -> Iterator[str]:
    """Every resident id ``masked`` leaves possible: its division, sequence and check character around each birth
    date from 1900-01-01 to today whose check character matches."""
    division, sequence, check = masked[:6], masked[-4:-1], masked[-1]
    day, today = FIRST_DAY, dt.date.today()
    while day <= today:
        first17 = f"{division}{day:%Y%m%d}{sequence}"
        if id_check_character(first17) == check:
            yield first17 + check
        day += dt.timedelta(days=1)


def _keyed(key: bytes) -> Callable[[str], str]:
    """``hmac-sha256:`` + HMAC-SHA256(key, item|candidate) (the keyed state made once: the search stays fast)."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def guess(candidate: str) -> str:
        digest = keyed.copy()
        digest.update(f"{ITEM}|{candidate}".encode())
        return "hmac-sha256:" + digest.hexdigest()

    return guess


def _receiver_guesses(secret: str, *, held_names: bool = True) -> list[Callable[[str], str]]:
    """Every way the receiver could compute a pseudonym of a candidate: keyed by what it holds (the signing
    secret, as text and as the key bytes it stands for, as the connector keyed pseudonyms before issue #11, its
    subscriber and subscription names), by today's scheme with the signing secret in the platform key's place, or
    unkeyed."""
    guesses = []
    for held in (secret.encode(), base64.b64decode(secret.removeprefix("whsec_"))):
        as_platform_key = hmac.new(held, f"govbus-pseudonym|{SUBSCRIBER}".encode(), hashlib.sha256).digest()
        guesses += [_keyed(held), _keyed(as_platform_key)]
    if held_names:
        guesses += [_keyed(SUBSCRIBER.encode()), _keyed(NAME.encode()),
                    lambda c: "hmac-sha256:" + hashlib.sha256(f"{ITEM}|{c}".encode()).hexdigest()]
    return guesses


def _enumerate(received: dict[str, str], guesses: list[Callable[[str], str]]) -> tuple[dict[str, str], int]:
    """(masked id -> the candidate whose guessed pseudonym is the one received with it, candidates tried)."""
    found, tried = {}, 0
    for masked, pseudonym in received.items():
        for candidate in _candidates(masked):
            tried += 1
            if any(guess(candidate) == pseudonym for guess in guesses):
                found[masked] = candidate
    return found, tried


def _by_masked_id(events: list[dict[str, Any]]) -> dict[str, str]:
    """What the receiver holds per person: the masked resident id -> the record key it came with."""
    return {e["record"]["resident_id"]: e["record_key"] for e in events}


def test_a_receiver_with_everything_it_is_sent_recovers_no_masked_id_and_keeps_pseudonyms_across_a_rotation(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, pseudonym_key: PseudonymKey) -> None:
    canonical(ITEM, partitions=1)
    people = [s.record for s in records_for(writer.catalogue.get(ITEM), PEOPLE, 0.0, seed=11)]
    first = {writer.write(ITEM, {**p, "card_status": "VALID"}) for p in people}
    writer.flush()
    sharing.put_grant(_grant())
    with SigningReceiver(secret) as receiver:
        sharing.put_subscription(subscription(NAME, receiver.url, {"item": ITEM, "fields": FIELDS}))
        connector = connectors(NAME, free_port())
        wait_for(lambda: set(receiver.received.applied) >= first, 60, "the first versions", connector.log_path)
        before = _by_masked_id([receiver.received.applied[e] for e in first])
        assert len(before) == PEOPLE and all(m[6:14] == "********" for m in before), "the ids arrive masked"
        assert all(p.startswith("hmac-sha256:") for p in before.values())

        started = time.perf_counter()
        recovered, tried = _enumerate(before, _receiver_guesses(secret))
        seconds = time.perf_counter() - started
        assert recovered == {}, f"the receiver recovered {len(recovered)} masked ids"
        dates = (dt.date.today() - FIRST_DAY).days + 1
        assert dates > 31_000 and tried > PEOPLE * dates / 12, "every birth date was tried"
        platform_side, _ = _enumerate(before, [functools.partial(pseudonym_key.for_subscriber(SUBSCRIBER).of, ITEM)])
        assert sorted(platform_side.values()) == sorted(p["resident_id"] for p in people), \
            "with the platform's key the same search finds every id: the search is sound, the key is what protects"

        connector.stop(timeout=15)  # rotate the signing secret: a new one for the connector and the receiver
        rotated = new_secret()
        receiver.secret = rotated
        connector = connectors(NAME, free_port(), **{SECRET_ENV: rotated})
        second = {writer.write(ITEM, {**p, "card_status": "EXPIRED"}) for p in people}
        writer.flush()
        wait_for(lambda: set(receiver.received.applied) >= second, 60, "the versions after the rotation",
                 connector.log_path)
        assert receiver.received.bad_signatures == 0, "every request was signed with the secret of its time"
    after = _by_masked_id([receiver.received.applied[e] for e in second])
    assert after == before, "a rotated signing secret changes no pseudonym"
    assert _enumerate(after, _receiver_guesses(rotated, held_names=False))[0] == {}, "nor with the new secret"
    print(f"receiver: {tried} candidates ({dates} birth dates x {PEOPLE} people, check character matching) "
          f"under {len(_receiver_guesses(secret))} keyings in {seconds:.2f} s: none recovered")
