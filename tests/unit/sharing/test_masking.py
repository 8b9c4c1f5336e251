import pytest

from govbus.sharing.masking import mask


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("resident_id", "11010519491231002X", "110105********002X"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("phone", "13812345678", "138****5678"),
        ("address", "北京市朝阳区建国路88号", "北京市朝阳区******"),
        ("address", "杭州市文三路1号", "杭州市******"),
        ("address", "某路1号", "******"),
        ("full", "anything", "******"),
    ],
)
def test_masks_keep_only_what_the_domain_allows(kind: str, value: str, masked: str) -> None:
    assert mask(kind, value) == masked


def test_null_stays_null() -> None:
    assert mask("name", None) is None
