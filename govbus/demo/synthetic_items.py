"""Seeded synthetic records for any catalogue item, driven by its Avro schema and metadata.

Identifier fields get valid codes with check characters (unified social credit codes, resident
identity numbers, division codes); dates, enums and amounts get plausible values. A chosen share
of records is made invalid on purpose (a wrong check character on an identifier field), and
each says which rule it breaks, so demos and tests know what to expect.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Protocol

from govbus.demo.synthetic import DIVISIONS, SyntheticRecord, make_uscc, wrong_check
from govbus.exceptions import ValidationError
from govbus.identifiers import id_check_character

_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
_ORGS = ("华信", "长城", "东方", "星海", "云帆", "瑞丰", "中科", "恒达", "新元", "博雅")


class SchemaItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def record_schema(self) -> dict[str, Any]: ...
    @property
    def identifier_fields(self) -> dict[str, Any]: ...
    def validate(self, record: dict[str, Any]) -> dict[str, Any]: ...


def make_resident_id(rng: random.Random, division: str | None = None) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    first17 = (division or rng.choice(DIVISIONS)) + birth.strftime("%Y%m%d") + f"{rng.randrange(0, 1000):03d}"
    return first17 + id_check_character(first17)


def _string(rng: random.Random, field: str) -> str:
    lowered = field.lower()
    if lowered.endswith("name") and ("holder" in lowered or "applicant" in lowered or "owner" in lowered
                                     or "taxpayer" in lowered or "insured" in lowered
                                     or lowered in ("name", "legal_representative")):
        return rng.choice(_NAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
    if "representative" in lowered or "manager" in lowered:
        return rng.choice(_NAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
    if lowered.endswith("name") or any(word in lowered for word in ("unit", "authority", "agency", "exchange")):
        return f"{rng.choice(_ORGS)}{rng.choice(('有限公司', '中心', '局', '协会', '大学'))}"
    if "address" in lowered or "location" in lowered:
        return f"某市某区某路{rng.randrange(1, 999)}号"
    if "number" in lowered or "code" in lowered:
        return f"{rng.randrange(10**9, 10**10)}"
    return f"{field}-{rng.randrange(1, 10**6)}"


def _value(rng: random.Random, field: str, schema: Any, identifiers: dict[str, Any]) -> Any:
    kind = str(getattr(identifiers.get(field), "value", identifiers.get(field) or ""))
    if kind == "uscc":
        return make_uscc(rng, rng.choice(DIVISIONS))
    if kind == "resident_id":
        return make_resident_id(rng)
    if kind == "division_code":
        return rng.choice(DIVISIONS)
    if isinstance(schema, list):
        return _value(rng, field, next(s for s in schema if s != "null"), identifiers)
    if isinstance(schema, dict):
        return _complex(rng, field, schema, identifiers)
    return _primitive(rng, field, schema)


def _complex(rng: random.Random, field: str, schema: dict[str, Any], identifiers: dict[str, Any]) -> Any:
    logical = schema.get("logicalType")
    if logical == "date":
        return dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(0, 6000))
    if logical in ("timestamp-millis", "timestamp-micros"):
        return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(0, 60_000_000))
    if schema["type"] == "enum":
        return rng.choice(schema["symbols"])
    if schema["type"] == "array":
        return [_value(rng, field, schema["items"], identifiers) for _ in range(rng.randrange(0, 3))]
    if schema["type"] == "record":
        return {f["name"]: _value(rng, f["name"], f["type"], identifiers) for f in schema["fields"]}
    return _primitive(rng, field, schema["type"])


def _primitive(rng: random.Random, field: str, kind: str) -> Any:
    if kind in ("int", "long"):
        if "share_bp" in field:
            return rng.randrange(1, 10_001)
        if field.endswith(("_years", "_days", "_size", "_number")) or kind == "int":
            return rng.randrange(1, 70)
        return rng.randrange(100, 10**9)
    if kind in ("float", "double"):
        return round(rng.uniform(1, 1000), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    return _string(rng, field)


def records_for(item: SchemaItem, count: int, invalid_share: float = 0.0, seed: int = 2017,
                attempts: int = 200) -> list[SyntheticRecord]:
    """``count`` records of ``item``; each valid one passes ``item.validate`` (cross-field rules
    included: a candidate that breaks one is drawn again), the rest break an identifier's check."""
    rng = random.Random(seed)
    identifiers = dict(item.identifier_fields)
    check_fields = [f for f, k in identifiers.items() if str(getattr(k, "value", k)) in ("uscc", "resident_id")]
    out: list[SyntheticRecord] = []
    while len(out) < count:
        record = _valid_record(rng, item, identifiers, attempts)
        if check_fields and rng.random() < invalid_share:
            field = rng.choice([f for f in check_fields if record.get(f)] or check_fields)
            if record.get(field):
                record[field] = _break_check(record[field])
                out.append(SyntheticRecord(record, f"{field}.check_character"))
                continue
        out.append(SyntheticRecord(record, None))
    return out


def _break_check(code: str) -> str:
    """The same identifier with a wrong check character."""
    if len(code) == 18 and code[:17].isdigit():  # resident identity number: check is 0-9 or X
        right = code[17]
        return code[:17] + ("0" if right != "0" else "1")
    return wrong_check(code)


def _valid_record(rng: random.Random, item: SchemaItem, identifiers: dict[str, Any], attempts: int) -> dict[str, Any]:
    fields = item.record_schema["fields"]
    for _ in range(attempts):
        record = {f["name"]: _value(rng, f["name"], f["type"], identifiers) for f in fields}
        _order_dates(record)
        _FIXES.get(item.name, lambda _rng, _record: None)(rng, record)
        if _repaired(item, record):
            return record
    raise RuntimeError(f"could not make a valid {item.name} record in {attempts} attempts")


def _repaired(item: SchemaItem, record: dict[str, Any], rounds: int = 4) -> bool:
    """Validate; a field the rules say "must be null" (it belongs to another kind of subject) is nulled."""
    for _ in range(rounds):
        try:
            item.validate(record)
            return True
        except ValidationError as error:
            if "must be null" not in error.detail or error.field not in record:
                return False
            record[error.field] = None
    return False


def _real_estate(rng: random.Random, record: dict[str, Any]) -> None:
    """Unit number (不动产单元号: division + 6 digits + GB + 5 digits + F + 8 digits); every date after
    the registration; encumbrances registered after the title."""
    division = record.get("division_code") or rng.choice(DIVISIONS)
    record["unit_number"] = (f"{division}{rng.randrange(10**6):06d}GB{rng.randrange(10**5):05d}"
                             f"F{rng.randrange(10**8):08d}")
    registered = record["registered_on"]
    if record.get("land_use_ends_on"):
        record["land_use_ends_on"] = registered + dt.timedelta(days=365 * rng.randrange(20, 70))
    for encumbrance in record.get("encumbrances") or []:
        encumbrance["registered_on"] = registered + dt.timedelta(days=rng.randrange(1, 2000))
        if encumbrance.get("ends_on"):
            encumbrance["ends_on"] = encumbrance["registered_on"] + dt.timedelta(days=rng.randrange(365, 9000))


def _institution_code(rng: random.Random, record: dict[str, Any]) -> None:
    record["institution_code"] = f"{rng.randrange(10000, 100000)}"


def _birth_date_from_id(_rng: random.Random, record: dict[str, Any]) -> None:
    number = record["resident_id"]
    record["birth_date"] = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    record["division_code"] = number[:6]


_CONTRIBUTION_BP = {"PENSION": 2_400, "MEDICAL": 1_000, "UNEMPLOYMENT": 100, "WORK_INJURY": 50, "MATERNITY": 80}
"""Typical contribution rates, the employer's and the person's shares together, in basis points of the base."""


def _social_insurance(rng: random.Random, record: dict[str, Any]) -> None:
    """The month is the one paid in or the one before; the amount is the kind's rate of a base between about 60 %
    and 300 % of an average wage; one in five pension or medical contributions is paid alone, without employer."""
    paid: dt.datetime = record["paid_at"]
    month = dt.date(paid.year, paid.month, 1) - dt.timedelta(days=rng.choice((0, 1)))
    record["period"] = f"{month.year:04d}-{month.month:02d}"
    record["contribution_base_cents"] = rng.randrange(4_000, 30_000) * 100
    record["amount_cents"] = record["contribution_base_cents"] * _CONTRIBUTION_BP[record["insurance_type"]] // 10_000
    record["insurance_agency"] = f"{record['insurance_agency_division_code']}社会保险事业管理中心"
    if record["insurance_type"] in ("PENSION", "MEDICAL") and rng.random() < 0.2:
        record["employer_name"] = record["employer_uscc"] = None


_FIXES = {
    "real_estate_registration": _real_estate,
    "degree_certification": _institution_code,
    "identity_verification": _birth_date_from_id,
    "social_insurance_payment": _social_insurance,
}


def _order_dates(record: dict[str, Any]) -> None:
    """Keep start/end style date pairs in order (period_start <= period_end, valid_from <= valid_until)."""
    pairs = (("period_start", "period_end"), ("valid_from", "valid_until"), ("enrolled_on", "graduated_on"),
             ("certificate_valid_from", "certificate_valid_until"))
    for start, end in pairs:
        a, b = record.get(start), record.get(end)
        if isinstance(a, dt.date) and isinstance(b, dt.date) and a > b:
            record[start], record[end] = b, a
