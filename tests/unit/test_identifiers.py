import pytest

from govbus import identifiers as ids

# Published examples: a real unified social credit code and the GB 11643 standard's sample number.
VALID_USCC = "91350100M000100Y43"
VALID_ID = "11010519491231002X"


def test_valid_uscc_passes() -> None:
    assert ids.check_uscc(VALID_USCC) is None


def test_uscc_check_character_is_computed_from_the_weights() -> None:
    assert ids.uscc_check_character(VALID_USCC[:17]) == "3"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y44", "should be '3'"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M00O100Y43", "outside"),
        ("91050100M000100Y4" + ids.uscc_check_character("91050100M000100Y4"), "division"),
    ],
)
def test_invalid_uscc_says_what_is_wrong(code: str, words: str) -> None:
    problem = ids.check_uscc(code)
    assert problem is not None and words in problem


def test_valid_resident_id_passes() -> None:
    assert ids.check_resident_id(VALID_ID) is None


@pytest.mark.parametrize(
    ("number", "words"),
    [("110105194912310021", "does not match"), ("11010519491331002X", "calendar"), ("1101051949", "18")],
)
def test_invalid_resident_id_says_what_is_wrong(number: str, words: str) -> None:
    problem = ids.check_resident_id(number)
    assert problem is not None and words in problem
    assert "X" not in problem.replace("18", ""), "never the check character that would complete the number"
    assert number[6:14] not in problem and number not in problem, "nor the birth date, nor the number"


def test_legacy_15_digit_id_is_upgraded_with_check_character() -> None:
    upgraded = ids.upgrade_legacy_id("110105491231002")
    assert upgraded == "11010519491231002X"
    assert ids.check_resident_id(upgraded) is None
