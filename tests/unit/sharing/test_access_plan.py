"""What the grants imply on the broker (govbus.sharing.access) and what the reconciler may touch
(govbus.sharing.acl_sync): pure logic, checked without a broker (the secured-broker tests in
tests/integration/security run the same against the real authorizer)."""

from __future__ import annotations

import datetime as dt

import pytest
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from govbus.exceptions import ConfigurationError
from govbus.sharing.access import authorised_sources, connector_acls, sharing_acls, subscriber_acls
from govbus.sharing.acl_sync import difference, managed
from govbus.sharing.model import Delivery, DeliveryKind, Grant, ItemRequest, Subscription
from govbus.topic_names import canonical_topic, delivery_topic, department_topic
from schemas.catalogue import load_catalogue

PREFIX = "govbus.t-1"
NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
CATALOGUE = load_catalogue()


def _subscription(kind: DeliveryKind = DeliveryKind.WEBHOOK) -> Subscription:
    delivery = Delivery(kind=kind) if kind is DeliveryKind.KAFKA else Delivery(
        kind=kind, url="http://127.0.0.1:1/hook", secret_env="SECRET")
    return Subscription(name="hz-one-stop", subscriber="hz-centre", delivery=delivery, items=[
        ItemRequest(item="enterprise_registration", fields=["uscc", "name"]),
        ItemRequest(item="tax_payment_certificate", fields=["certificate_number"]),
        ItemRequest(item="tax_risk_assessment", fields=["uscc"])])


def _grant(**changes: object) -> Grant:
    grant = Grant(grant_id="g-1", subscriber="hz-centre", item="tax_payment_certificate", approved_by="taxation",
                  purpose="housing checks", fields=["certificate_number"], expires_at=NOW + dt.timedelta(days=1))
    return grant.model_copy(update=changes)


def _reads(acls: list[AclBinding]) -> set[str]:
    return {a.name for a in acls if a.operation == AclOperation.READ and a.restype == ResourceType.TOPIC}


def test_a_connector_reads_only_what_is_authorised_now() -> None:
    tax, registrations = (canonical_topic(i, PREFIX) for i in ("tax_payment_certificate", "enterprise_registration"))
    no_grant = _reads(connector_acls(_subscription(), CATALOGUE, [], NOW, PREFIX))
    assert registrations in no_grant and tax not in no_grant, "unconditional yes, conditional needs a grant"
    assert canonical_topic("tax_risk_assessment", PREFIX) not in no_grant, "not shared: never"
    assert tax in _reads(connector_acls(_subscription(), CATALOGUE, [_grant()], NOW, PREFIX))
    for closed in (_grant(revoked=True), _grant(expires_at=NOW - dt.timedelta(seconds=1)),
                   _grant(approved_by="market-regulation"), _grant(subscriber="someone-else")):
        assert tax not in _reads(connector_acls(_subscription(), CATALOGUE, [closed], NOW, PREFIX)), closed
    assert authorised_sources(_subscription(), CATALOGUE, [_grant()], NOW, PREFIX) == sorted([registrations, tax])
    groups = {a.name for a in connector_acls(_subscription(), CATALOGUE, [], NOW, PREFIX)
              if a.restype == ResourceType.GROUP}
    assert groups == {f"{PREFIX}.subscription.hz-one-stop", f"{PREFIX}.subscription.hz-one-stop.redeliver"}


def test_a_subscriber_reads_its_own_delivery_topic_and_never_a_canonical_one() -> None:
    kafka = _subscription(DeliveryKind.KAFKA)
    acls = subscriber_acls("hz-centre", [kafka], PREFIX)
    assert _reads(acls) == {delivery_topic("hz-centre", "hz-one-stop", PREFIX),
                            f"{PREFIX}.control.subscriptions.hz-centre", f"{PREFIX}.control.grants."}
    assert {a.name for a in acls if a.operation == AclOperation.WRITE} == {f"{PREFIX}.control.subscriptions.hz-centre"}
    assert _reads(subscriber_acls("other", [kafka], PREFIX)) == {f"{PREFIX}.control.subscriptions.other",
                                                                 f"{PREFIX}.control.grants."}
    connector = connector_acls(kafka, CATALOGUE, [], NOW, PREFIX)
    assert {a.name for a in connector if a.operation == AclOperation.WRITE} >= {
        delivery_topic("hz-centre", "hz-one-stop", PREFIX)}


def _binding(principal: str, name: str, pattern: ResourcePatternType = ResourcePatternType.LITERAL,
             restype: ResourceType = ResourceType.TOPIC) -> AclBinding:
    return AclBinding(restype, name, pattern, principal, "*", AclOperation.READ, AclPermissionType.ALLOW)


def test_the_reconciler_owns_only_its_prefixes_grant_derived_bindings() -> None:
    mine = _binding("User:connector.hz-one-stop", canonical_topic("tax_payment_certificate", PREFIX))
    assert managed(mine, PREFIX)
    for other in (_binding("User:connector.hz-one-stop", canonical_topic("tax_payment_certificate", "govbus.t-2")),
                  _binding("User:connector.x", "govbus.t-1x.canonical.y"),
                  _binding("User:processor.normaliser", f"{PREFIX}.dept.", ResourcePatternType.PREFIXED),
                  _binding("User:operator", canonical_topic("tax_payment_certificate", PREFIX)),
                  _binding("User:admin", canonical_topic("tax_payment_certificate", PREFIX)),
                  _binding("User:department.taxation", "kafka-cluster", restype=ResourceType.BROKER)):
        assert not managed(other, PREFIX), other
    assert not managed(mine, "govbus"), "a shorter prefix does not own a longer one's bindings"
    stale = _binding("User:connector.gone", canonical_topic("tax_payment_certificate", PREFIX))
    foreign = _binding("User:processor.normaliser", f"{PREFIX}.dept.", ResourcePatternType.PREFIXED)
    diff = difference([mine], [stale, foreign], PREFIX)
    assert diff.add == [mine] and diff.delete == [stale]


def test_the_catalogue_implies_every_departments_topics_and_nothing_for_undeclared_subscribers() -> None:
    acls = sharing_acls(CATALOGUE, [], [], NOW, PREFIX)
    writes = {a.name for a in acls if a.operation == AclOperation.WRITE}
    assert department_topic("taxation", "x", PREFIX)[:-1] in writes
    assert not any(a.principal.startswith(("User:subscriber.", "User:connector.hz")) for a in acls)
    assert any(a.principal == "User:subscriber.hz-centre" for a in sharing_acls(
        CATALOGUE, [], [], NOW, PREFIX, subscribers=["hz-centre"])), "a registered subscriber may declare"


@pytest.mark.parametrize("prefix", ["govbus.dept", "govbus.control", "a.canonical.b", "govbus.delivery"])
def test_a_prefix_may_not_reach_into_another_prefixes_acls(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="may not contain the word"):
        canonical_topic("tax_payment_certificate", prefix)
