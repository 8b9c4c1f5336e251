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
_TYPES = ("LIMITED_LIABILITY_COMPANY",) * 6 + ("JOINT_STOCK_COMPANY", "SOLE_PROPRIETORSHIP", "PARTNERSHIP", "BRANCH")
_SCOPES = {"科技": "技术开发、技术咨询、技术服务", "贸易": "货物进出口、日用百货销售", "建设": "房屋建筑工程施工",
           "物流": "普通货物仓储、道路货物运输", "咨询": "企业管理咨询、经济信息咨询", "食品": "食品销售",
           "医药": "药品批发、医疗器械销售", "能源": "太阳能发电技术服务、储能技术服务"}


@dataclass(frozen=True)
class SyntheticRecord:
    """A record and, when it was made invalid on purpose, the rule it breaks."""

    record: dict[str, Any]
    broken_rule: str | None


def make_uscc(rng: random.Random, division: str) -> str:
    body = "91" + division + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def wrong_check(code: str) -> str:
    right = code[17]
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(right) + 7) % len(USCC_ALPHABET)]
    return code[:17] + wrong


def _registration_details(rng: random.Random, record: dict[str, Any], trade: str) -> dict[str, Any]:
    """The enterprise-registration fields added after the first version of its schema."""
    changed_on = None
    if record["status"] != "ESTABLISHED":
        changed_on = record["established_on"] + dt.timedelta(days=rng.randrange(1, 2000))
    return {
        "enterprise_type": rng.choice(_TYPES),
        "registration_authority": f"{record['division_code']}市场监督管理局",
        "business_scope": _SCOPES[trade],
        "status_changed_on": changed_on,
    }


def enterprise_registrations(count: int, invalid_share: float = 0.1, seed: int = 2017) -> list[SyntheticRecord]:
    """``count`` enterprise registrations; about ``invalid_share`` have a wrong check character."""
    rng = random.Random(seed)
    details = random.Random(seed * 7919 + 1)  # fields added later draw from their own stream
    records = []
    for _ in range(count):
        division = rng.choice(DIVISIONS)
        uscc = make_uscc(rng, division)
        word, trade = rng.choice(_WORDS), rng.choice(_TRADES)
        record: dict[str, Any] = {
            "uscc": uscc,
            "name": f"{word}{trade}有限公司",
            "legal_representative": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            "division_code": division,
            "registered_capital_cents": rng.randrange(10_000, 1_000_000_000) * 100,
            "established_on": dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000)),
            "status": rng.choice(("ESTABLISHED", "ESTABLISHED", "ESTABLISHED", "CHANGED", "REVOKED", "CANCELLED")),
            "address": f"{division}某区某路{rng.randrange(1, 999)}号",
        }
        record.update(_registration_details(details, record, trade))
        broken = None
        if rng.random() < invalid_share:
            record["uscc"] = wrong_check(record["uscc"])
            broken = "uscc.check_character"
        records.append(SyntheticRecord(record, broken))
    return records
