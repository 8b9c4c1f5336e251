"""Least privilege, shown: every party of this run authenticates as its own principal, and the broker and
the registry refuse what it may not do.

:func:`secure_run` gives this run's topic prefix the ACLs ``govbus dev up`` gives ``govbus``: each
department its own topics, each stream processor (with this run's app ids) its inputs and outputs, the
public feed the open items, the operator its metadata; it adds the demo subscriber and its subscription's
connector to the platform's credentials, and registers them. :func:`reconcile` turns the grants into the
connector's ACLs. :func:`print_access` asks the broker and the registry a few forbidden things, as a newcomer
would, and shows the answers.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.table import Table

from govbus import identities
from govbus.demo.context import DemoContext
from govbus.demo.probes import probe_read, probe_write
from govbus.platform import credentials
from govbus.sharing import access, principals, processor_access
from govbus.sharing.acl_sync import apply, plan
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, department_topic, value_subject
from schemas.catalogue import load_catalogue

SUBSCRIBER = "hz-centre"
SUBSCRIPTION = "hz-one-stop"


def department(slug: str) -> str:
    return identities.principal_key("department", slug)


def secure_run(context: DemoContext, app_ids: dict[str, str]) -> None:
    """This run's ACLs and principals (nothing on an open platform). ``app_ids``: processor -> its app id."""
    if not context.secured or context.platform.credentials_file is None:
        return
    catalogue = load_catalogue()
    departments = sorted({item.department for item in catalogue.items()})
    added = [identities.principal_key("subscriber", SUBSCRIBER), identities.principal_key("connector", SUBSCRIPTION)]
    found = credentials.with_principals(Path(context.platform.credentials_file),
                                        {key: identities.user_name(key) for key in added})
    acls = [*(acl for d in departments for acl in principals.department_acls(d, context.prefix)),
            *(acl for name, app in app_ids.items()
              for acl in processor_access.processor_acls(name, context.prefix, app_id=app)),
            *access.public_feed_acls(catalogue, context.prefix), *processor_access.operator_acls(context.prefix)]
    principals.provision(context.kafka, {found[key]["username"]: found[key]["password"] for key in added}, acls)
    store = SharingStore(context.kafka, context.prefix)
    store.register_departments(departments)
    store.register_subscriber(SUBSCRIBER)
    reconcile(context)
    context.console.print(f"identities: every department, processor and subscriber of this run authenticates as "
                          f"its own principal (SASL/SCRAM, registry HTTP Basic), with ACLs under {context.prefix}.*")


def reconcile(context: DemoContext) -> None:
    """One pass of the ACL reconciler for this run's prefix: the grants become the connector's ACLs."""
    if context.secured:
        apply(context.kafka, plan(context.kafka, context.prefix))


def print_access(context: DemoContext) -> None:
    """Forbidden requests, as a newcomer would try them, and what the broker and the registry answered."""
    if not context.secured:
        context.console.print("[yellow]the platform runs without authentication (GOVBUS_SECURITY=none): nothing "
                              "below is enforced[/]")
        return
    table = Table(title="Who may do what: enforced by the broker and the registry")
    for column in ("principal", "tried", "answer"):
        table.add_column(column)
    taxation, civil = context.kafka_as(department("taxation")), context.kafka_as(department("civil-affairs"))
    subscriber = context.kafka_as(identities.principal_key("subscriber", SUBSCRIBER))
    own = department_topic("taxation", "tax_payment_certificate", context.prefix)
    theirs = department_topic("market-regulation", "enterprise_registration", context.prefix)
    tax = canonical_topic("tax_payment_certificate", context.prefix)
    rows = [("department.taxation", f"write its own topic {own}", probe_write(taxation, own)),
            ("department.taxation", "write market regulation's topic", probe_write(taxation, theirs)),
            ("department.civil-affairs", "read canonical tax certificates", probe_read(civil, tax)),
            (f"subscriber.{SUBSCRIBER}", "read canonical tax certificates itself", probe_read(subscriber, tax)),
            ("(no credentials)", "list the broker's topics", probe_read(context.kafka.model_copy(
                update={"security_protocol": "PLAINTEXT", "username": None, "password": None}), tax, timeout=3))]
    registry = context.registry_as(department("taxation"))
    subject = value_subject(tax)
    with httpx.Client(base_url=registry.url, timeout=10) as http:
        answer = http.post(f"/subjects/{subject}/versions", json={"schema": '"string"'},
                           auth=(registry.username or "", registry.password.get_secret_value()
                                 if registry.password else ""))
        rows.append(("department.taxation", "register a canonical schema", f"HTTP {answer.status_code}"))
        rows.append(("(no credentials)", "set the registry READONLY",
                     f"HTTP {http.put('/mode', json={'mode': 'READONLY'}).status_code}"))
    for row in rows:
        table.add_row(*row)
    context.console.print(table)
