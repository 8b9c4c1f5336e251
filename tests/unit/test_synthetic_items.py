import pytest

from govbus.demo.synthetic_items import records_for
from govbus.exceptions import ValidationError
from schemas.catalogue import load_catalogue

ITEMS = load_catalogue().items()


@pytest.mark.parametrize("item", ITEMS, ids=[i.name for i in ITEMS])
def test_valid_records_validate_and_broken_ones_fail_on_the_named_field(item) -> None:  # type: ignore[no-untyped-def]
    records = records_for(item, 60, invalid_share=0.3, seed=4)
    broken = [r for r in records if r.broken_rule]
    assert len(records) == 60 and broken, "a share of records must be broken on purpose"
    for synthetic in records:
        if synthetic.broken_rule is None:
            item.validate(synthetic.record)
            continue
        with pytest.raises(ValidationError) as raised:
            item.validate(synthetic.record)
        assert raised.value.field == synthetic.broken_rule.split(".")[0]


def test_the_same_seed_gives_the_same_records() -> None:
    item = load_catalogue().get("tax_payment_certificate")
    assert records_for(item, 20, 0.2, seed=9) == records_for(item, 20, 0.2, seed=9)
