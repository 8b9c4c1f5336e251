"""Two subscribers receiving updates live: a city's one-stop service centre (webhook signed per Standard
Webhooks and verified by the reference receiver with the standardwebhooks library, a conditional grant from
taxation, personal fields masked) and the public portal (disclosure feed)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from rich.table import Table

from connectors.reference_receiver import ReferenceReceiver
from connectors.webhook.signing_secrets import new_secret
from govbus.demo.access_step import SUBSCRIBER, SUBSCRIPTION, reconcile
from govbus.demo.context import DemoContext
from govbus.identities import principal_key
from govbus.platform import processes
from govbus.platform.components import Component, start_component
from govbus.sharing.access import PUBLIC_FEED
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.store import SharingStore

SECRET_ENV = "GOVBUS_DEMO_WEBHOOK_SECRET"  # noqa: S105 - the variable's name; the secret (whsec_) is new per run
TAX_FIELDS = ["certificate_number", "taxpayer_kind", "taxpayer_name", "taxpayer_resident_id", "tax_type",
              "amount_cents", "paid_at"]
ENTERPRISE_FIELDS = ["uscc", "name", "legal_representative", "status", "division_code"]


@dataclass
class Subscribers:
    receiver: ReferenceReceiver
    feed_url: str


def _declare(context: DemoContext, receiver_url: str) -> None:
    """Taxation approves the grant (as its principal), the centre declares its subscription (as its own), and
    the reconciler turns them into the connector's ACLs."""
    taxation = SharingStore(context.kafka_as(principal_key("department", "taxation")), context.prefix)
    taxation.put_grant(Grant(grant_id="tax-demo-1", subscriber=SUBSCRIBER, item="tax_payment_certificate",
                          approved_by="taxation", purpose="housing purchase qualification checks",
                          fields=TAX_FIELDS, unmasked=["taxpayer_name"],
                          expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))
    centre = SharingStore(context.kafka_as(principal_key("subscriber", SUBSCRIBER)), context.prefix)
    centre.put_subscription(Subscription.model_validate({
        "name": SUBSCRIPTION, "subscriber": SUBSCRIBER,
        "items": [{"item": "enterprise_registration", "fields": ENTERPRISE_FIELDS},
                  {"item": "tax_payment_certificate", "fields": TAX_FIELDS}],
        "delivery": {"kind": "webhook", "url": receiver_url, "secret_env": SECRET_ENV}}))
    reconcile(context)


@contextmanager
def subscribers(context: DemoContext) -> Iterator[Subscribers]:
    """Run the webhook connector and the public feed while the block publishes."""
    components: list[Component] = []
    secret = new_secret()
    with ReferenceReceiver(secret=secret) as receiver:
        _declare(context, receiver.webhook_url)
        feed_port = processes.free_port()
        env = {"GOVBUS_WEBHOOK_SUBSCRIPTION": SUBSCRIPTION, "GOVBUS_FEED_PORT": str(feed_port)}
        webhook = {**context.env(principal_key("connector", SUBSCRIPTION)), **env, SECRET_ENV: secret}
        feed = {**context.env(principal_key("connector", PUBLIC_FEED)), **env}  # the feed signs nothing
        try:
            components = [start_component("webhook", "connectors.webhook", webhook, context.logs / "webhook.log"),
                          start_component("public feed", "connectors.public_feed", feed, context.logs / "feed.log")]
            context.console.print(f"subscribers: the one-stop centre's webhook connector (pid {components[0].pid}, "
                                  f"grant tax-demo-1 from taxation) and the public feed at "
                                  f"http://127.0.0.1:{feed_port}/feed (pid {components[1].pid})")
            yield Subscribers(receiver, f"http://127.0.0.1:{feed_port}")
        finally:
            for component in components:
                component.stop()


def print_subscribers(context: DemoContext, subs: Subscribers) -> None:
    received = subs.receiver.events
    items: Counter[str] = Counter()
    masked_example = ""
    for body in received.applied.values():
        for event in body.get("events", [body]):
            items[str(event.get("item"))] += 1
            record = event.get("record") or {}
            if not masked_example and record.get("taxpayer_resident_id"):
                name = str(record.get("taxpayer_name") or "")  # in clear: the grant unmasks it; not printed here
                masked_example = (f"taxpayer_resident_id {record['taxpayer_resident_id']}, taxpayer_name "
                                  f"{'in clear' if '*' not in name else 'masked'} ({len(name)} characters, "
                                  "not printed: a terminal is not a granted delivery)")
    table = Table(title="Subscribers, live")
    for column in ("subscriber", "how", "received"):
        table.add_column(column)
    refused = f"; {received.unverified} refused: signature not verified" if received.unverified else ""
    table.add_row("hz one-stop centre", "webhook batches, Standard Webhooks signatures verified",
                  (", ".join(f"{n} {item}" for item, n in items.items()) or "nothing") + refused)
    try:
        page = httpx.get(f"{subs.feed_url}/feed", params={"per_page": 3}, timeout=10).json()
        atom = httpx.get(f"{subs.feed_url}/feed.atom", timeout=10).text
        table.add_row("public portal", "JSON pages and Atom, open items only, no personal fields",
                      f"{page.get('total', 0)} disclosures; Atom {atom.count('<entry>')} entries")
    except (httpx.HTTPError, ValueError) as error:
        table.add_row("public portal", "disclosure feed", f"not reachable: {error}")
    context.console.print(table)
    if masked_example:
        context.console.print(f"  masked as granted (name unmasked by the grant): {masked_example}", highlight=False)
