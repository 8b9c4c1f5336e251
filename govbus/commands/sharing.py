"""`govbus subscriptions ...` and `govbus grants ...`: declare, authorise, inspect."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from govbus.preflight import require_broker
from govbus.settings import ClientSettings
from govbus.sharing.authorisation import SubscriptionRefused, authorise
from govbus.sharing.model import DeliveryKind, load_grant, load_subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import TopicSettings, delivery_topic
from schemas.catalogue import load_catalogue


def store() -> SharingStore:
    kafka = ClientSettings().kafka
    require_broker(kafka.bootstrap)
    return SharingStore(kafka, TopicSettings().topic_prefix)


def add_subscription(path: Path, console: Console) -> None:
    """Authorise the declared subscription against the catalogue and the grants; store it or say why not."""
    subscription = load_subscription(path)
    sharing = store()
    try:
        plans = authorise(subscription, load_catalogue(), sharing.load().grants.values())
    except SubscriptionRefused as refused:
        console.print(f"[bold red]refused:[/] subscription {subscription.name!r}", highlight=False)
        for reason in refused.reasons:
            console.print(f"  - {reason}", highlight=False)
        sys.exit(1)
    sharing.put_subscription(subscription)
    console.print(f"subscription {subscription.name!r} added for {subscription.subscriber}:")
    for plan in plans:
        masked = ", ".join(plan.masked_paths) or "none"
        grant = f" under grant {plan.grant_id}" if plan.grant_id else ""
        console.print(f"  {plan.item}: {len(plan.field_paths)} fields{grant}; masked: {masked}", highlight=False)
    if subscription.delivery.kind is DeliveryKind.KAFKA:
        topic = delivery_topic(subscription.subscriber, subscription.name, TopicSettings().topic_prefix)
        console.print(f"delivered to the topic {topic}, which only {subscription.subscriber}'s principal may read; "
                      f"start its connector: govbus run kafka-delivery {subscription.name}", highlight=False)


def list_subscriptions(as_json: bool, console: Console) -> None:
    snapshot = store().load()
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in snapshot.subscriptions.values()], indent=2,
                              ensure_ascii=False))
        return
    table = Table(title="Subscriptions")
    for column in ("name", "subscriber", "items", "delivery"):
        table.add_column(column)
    for sub in snapshot.subscriptions.values():
        table.add_row(sub.name, sub.subscriber, ", ".join(i.item for i in sub.items), sub.delivery.kind.value)
    console.print(table)


def show_subscription(name: str, console: Console) -> None:
    snapshot = store().load()
    subscription = snapshot.subscriptions.get(name)
    if subscription is None:
        known = ", ".join(sorted(snapshot.subscriptions)) or "none"
        raise click.ClickException(f"no subscription {name!r}; known: {known}")
    click.echo(json.dumps(subscription.model_dump(mode="json"), indent=2, ensure_ascii=False))
    try:
        authorise(subscription, load_catalogue(), snapshot.grants.values())
        console.print("[green]authorised now[/]")
    except SubscriptionRefused as refused:
        console.print("[red]not authorised now (delivery is stopped):[/] " + "; ".join(refused.reasons),
                      highlight=False)


def remove_subscription(name: str, console: Console) -> None:
    sharing = store()
    subscription = sharing.load().subscriptions.get(name)
    if subscription is None:
        raise click.ClickException(f"no subscription {name!r}")
    sharing.remove_subscription(subscription)
    console.print(f"subscription {name!r} removed; its connector stops delivering at its next refresh")


def add_grant(path: Path, console: Console) -> None:
    grant = load_grant(path)
    item = load_catalogue().get(grant.item)
    if item.department != grant.approved_by:
        raise click.ClickException(f"{grant.item} is provided by {item.department}; only it can approve grants "
                                   f"for it, not {grant.approved_by}")
    store().put_grant(grant)
    console.print(f"grant {grant.grant_id!r}: {grant.subscriber} may receive {len(grant.fields)} fields of "
                  f"{grant.item} until {grant.expires_at.isoformat()} ({grant.purpose})", highlight=False)


def revoke_grant(grant_id: str, console: Console) -> None:
    sharing = store()
    found = [g for g in sharing.load().grants.values() if g.grant_id == grant_id]
    if not found:
        raise click.ClickException(f"no grant {grant_id!r} that this principal may see (a department sees its own)")
    if len(found) > 1:
        raise click.ClickException(f"grant id {grant_id!r} is used by {', '.join(g.approved_by for g in found)}: "
                                   "revoke it as the approving department's principal")
    grant = found[0]
    sharing.put_grant(grant.model_copy(update={"revoked": True}))
    console.print(f"grant {grant_id!r} revoked at {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")


def list_grants(console: Console) -> None:
    now = dt.datetime.now(dt.UTC)
    table = Table(title="Grants")
    for column in ("grant", "subscriber", "item", "approved by", "fields", "unmasked", "expires", "state"):
        table.add_column(column)
    for grant in store().load().grants.values():
        state = "revoked" if grant.revoked else ("active" if grant.active(now) else "expired")
        table.add_row(grant.grant_id, grant.subscriber, grant.item, grant.approved_by, str(len(grant.fields)),
                      ", ".join(grant.unmasked) or "-", grant.expires_at.date().isoformat(), state)
    console.print(table)
