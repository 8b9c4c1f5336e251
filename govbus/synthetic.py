"""Seeded, reproducible synthetic records for demos, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from govbus.identifiers import USCC_ALPHABET, uscc_check_character

DIVISIONS = ("110105", "310115", "330106", "440305", "510107", "420111")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
_WORDS = ("华信", "长城", "东方", "星海", "云帆", "瑞丰", "中科", "恒达", "新元", "博雅")
_TRADES = ("科技", "贸易", "建设", "物流", "咨询", "食品", "医药", "能源")


@dataclass(frozen=True)
class SyntheticRecord:
    """A record and, when it was made invalid on purpose, the rule it breaks."""

    record: dict[str, Any]
    broken_rule: str | None


def make_uscc(rng: random.Random, division: str) -> str:
    body = "91" + division + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def _wrong_check(code: str) -> str:
    right = code[17]
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(right) + 7) % len(USCC_ALPHABET)]
    return code[:17] + wrong


def enterprise_registrations(count: int, invalid_share: float = 0.1, seed: int = 2017) -> list[SyntheticRecord]:
    """``count`` enterprise registrations; about ``invalid_share`` have a wrong check character."""
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        division = rng.choice(DIVISIONS)
        record: dict[str, Any] = {
            "uscc": make_uscc(rng, division),
            "name": f"{rng.choice(_WORDS)}{rng.choice(_TRADES)}有限公司",
            "legal_representative": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            "division_code": division,
            "registered_capital_cents": rng.randrange(10_000, 1_000_000_000) * 100,
            "established_on": dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000)),
            "status": rng.choice(("ESTABLISHED", "ESTABLISHED", "ESTABLISHED", "CHANGED", "REVOKED", "CANCELLED")),
            "address": f"{division}某区某路{rng.randrange(1, 999)}号",
        }
        broken = None
        if rng.random() < invalid_share:
            record["uscc"] = _wrong_check(record["uscc"])
            broken = "uscc.check_character"
        records.append(SyntheticRecord(record, broken))
    return records
