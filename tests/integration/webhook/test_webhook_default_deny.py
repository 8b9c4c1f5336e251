"""Default-deny masking in a real delivery: records written with a newer schema than the catalogue's, whose
nested records carry a field the catalogue does not know yet, reach the receiver with that field masked."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from webhook_support import SigningReceiver, subscription, wait_for

from govbus.demo.synthetic_items import records_for
from govbus.envelope import envelope_schema
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.model import Grant
from govbus.sharing.store import SharingStore
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, Step

ITEM = "real_estate_registration"
FIELDS = ["certificate_number", "owner_kind", "encumbrances"]
PHONE = "13912345678"


def _widened_event_schema() -> dict[str, object]:
    """The item's event schema with ``holder_phone`` added to its nested encumbrance records."""
    record = load_catalogue().get(ITEM).record_schema
    encumbrances = next(f for f in record["fields"] if f["name"] == "encumbrances")
    encumbrances["type"]["items"]["fields"].append(
        {"name": "holder_phone", "type": ["null", "string"], "default": None, "doc": "Phone of the holder."})
    return envelope_schema(record, f"{record['name']}Event")


def test_a_nested_field_unknown_to_the_catalogue_is_delivered_masked(
        sharing: SharingStore, canonical: Callable[..., str], connectors: Callable[..., Component], secret: str,
        kafka_bootstrap: str, registry_url: str) -> None:
    item = load_catalogue().get(ITEM)
    topic = canonical(ITEM, partitions=1)
    writer = CanonicalWriter(kafka_bootstrap, registry_url, item, topic, event_schema=_widened_event_schema())
    records = [item.validate(s.record) for s in records_for(item, 4, seed=21)]
    for record in records:
        record["encumbrances"] = [{"kind": "RESIDENCE_RIGHT", "holder": "李建国", "registered_on": dt.date(2020, 1, 2),
                                   "secured_amount_cents": None, "ends_on": None, "holder_phone": PHONE}]
    writer.write([Step("UPSERT", item.key_of(record), record) for record in records])
    with SigningReceiver(secret) as receiver:
        sharing.put_grant(Grant.model_validate({
            "grant_id": "re-deny", "subscriber": "deny-centre", "item": ITEM, "approved_by": "natural-resources",
            "purpose": "housing security eligibility checks", "fields": FIELDS,
            "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1)}))
        sharing.put_subscription(subscription("deny", receiver.url, {"item": ITEM, "fields": FIELDS}))
        connector = connectors("deny", free_port())
        wait_for(lambda: len(receiver.received.applied) == len(records), 60, "every record", connector.log_path)

    delivered = list(receiver.received.applied.values())
    for event in delivered:
        assert event["record"]["encumbrances"] == [{"kind": "RESIDENCE_RIGHT", "holder": "李**",
                                                    "registered_on": "2020-01-02", "secured_amount_cents": None,
                                                    "ends_on": None, "holder_phone": "******"}]
        assert event["masked_fields"] == ["encumbrances[].holder", "encumbrances[].holder_phone"]
    assert PHONE not in json.dumps(delivered, ensure_ascii=False), "the unclassified field never leaves in clear"
