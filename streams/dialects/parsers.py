"""Pure parsers for what local systems send, each recording the fixes it makes.

Every converter has the signature ``(value, field, log) -> canonical value or None``: ``value`` is
what the local record holds (usually a string, maybe ``None``), ``field`` the canonical field it
becomes (named in fixes and errors), ``log`` the :class:`FixLog` collecting the changes. ``None``
stays ``None`` without a fix. A value that cannot be parsed raises
:class:`govbus.exceptions.ValidationError` naming ``field`` and a rule:

=====================  =======================================================================
rule                   meaning
=====================  =======================================================================
``date.format``        not one of the accepted date formats
``date.invalid``       the format is right but there is no such day (``2017年2月30日``)
``timestamp.format``   not one of the accepted date-time formats
``amount.format``      not a decimal amount
``amount.precision``   more decimals than a fen can hold
``area.format``        not a decimal area
``area.precision``     more decimals than a square decimetre can hold
``amount.range``       too large for an Avro long once converted (also ``area.range``)
``timestamp.invalid``  the format is right but there is no such time
``code.unknown``       a code or label the dialect's code table does not know
=====================  =======================================================================
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from govbus.exceptions import ValidationError
from govbus.identifiers import ascii_digits, upgrade_legacy_id
from streams.dialects.model import Fix, FixKind

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""Local times without an offset are Beijing time (China has one time zone, no daylight saving)."""


class FixLog:
    """Collects the fixes of one record, in the order they were made."""

    def __init__(self) -> None:
        self._fixes: list[Fix] = []

    def add(self, field: str, kind: FixKind, before: Any, after: Any) -> None:
        self._fixes.append(Fix(field, kind, before if before is None or type(before) is str else shown(before),
                               after if after is None or type(after) is str else shown(after)))

    @property
    def fixes(self) -> tuple[Fix, ...]:
        return tuple(self._fixes)


Converter = Callable[[Any, str, FixLog], Any]


def shown(value: Any) -> str | None:
    """A value as a fix shows it: ``None``, ISO dates and timestamps, else ``str``."""
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


# -- text ---------------------------------------------------------------------------------

_FULL_WIDTH_ALNUM = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                                     *range(0xFF41, 0xFF5B))}
_FULL_WIDTH_ALNUM[0x3000] = 0x20  # ideographic space
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")
_SPACE_RUN = re.compile(r"\s{2,}")


def half_width_alnum(text: str) -> str:
    """Full-width digits, Latin letters and the ideographic space as half-width; nothing else changes.

    Chinese punctuation such as ``（`` is left alone: it belongs in names and addresses.
    """
    return text.translate(_FULL_WIDTH_ALNUM)


def tidy_spaces(text: str) -> str:
    """No surrounding spaces, none between Chinese characters (``王  伟`` -> ``王伟``), single elsewhere."""
    return _SPACE_RUN.sub(" ", _SPACE_BETWEEN_CJK.sub("", text.strip()))


def text(value: Any, field: str, log: FixLog) -> str | None:
    """A name, address or title: half-width digits and letters, tidy spaces; blank becomes null."""
    if value is None:
        return None
    result = str(value)
    for kind, step in ((FixKind.FULL_WIDTH, half_width_alnum), (FixKind.WHITESPACE, tidy_spaces)):
        changed = step(result)
        if changed != result:
            log.add(field, kind, result, changed)
            result = changed
    if not result:
        log.add(field, FixKind.EMPTY_TO_NULL, value, None)
        return None
    return result


def code(value: Any, field: str, log: FixLog) -> str | None:
    """An identifier or code: NFKC half-width, no whitespace at all, upper case; blank becomes null."""
    if value is None:
        return None
    result = str(value)
    for kind, step in ((FixKind.FULL_WIDTH, lambda v: unicodedata.normalize("NFKC", v)),
                       (FixKind.WHITESPACE, lambda v: "".join(v.split())),
                       (FixKind.CASE, str.upper)):
        changed = step(result)
        if changed != result:
            log.add(field, kind, result, changed)
            result = changed
    if not result:
        log.add(field, FixKind.EMPTY_TO_NULL, value, None)
        return None
    return result


def resident_id(value: Any, field: str, log: FixLog) -> str | None:
    """A resident identity number cleaned as a :func:`code`; a legacy 15-digit one upgraded to 18."""
    number = code(value, field, log)
    if number is not None and len(number) == 15 and ascii_digits(number):
        upgraded = upgrade_legacy_id(number)
        log.add(field, FixKind.LEGACY_ID_UPGRADED, number, upgraded)
        return upgraded
    return number


# -- dates and times ----------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"),                  # 2017-05-18 (canonical)
    re.compile(r"^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$"),        # 2017/5/18, 2017.05.18, 2017-5-18
    re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$"),                      # 20170518
    re.compile(r"^([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日?$"),  # 2017年5月18日
)


def parse_date_text(raw: str, field: str) -> dt.date:
    """The date ``raw`` names in any accepted format (no fix recorded; see :func:`date`)."""
    cleaned = half_width_alnum(raw).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                raise ValidationError(field, "date.invalid", "not a calendar date") from None  # dates may be personal
    raise ValidationError(field, "date.format", "not a date "
                          "(accepted: 2017-05-18, 2017/5/18, 20170518, 2017年5月18日, 2017.05.18)")


def date(value: Any, field: str, log: FixLog) -> dt.date | None:
    """A date in any accepted format; anything but ``YYYY-MM-DD`` is a ``date_format`` fix. Blank is null."""
    if value is None or isinstance(value, dt.date):
        return value
    raw = str(value)
    if not raw.strip():
        log.add(field, FixKind.EMPTY_TO_NULL, raw, None)
        return None
    parsed = parse_date_text(raw, field)
    if raw != parsed.isoformat():
        log.add(field, FixKind.DATE_FORMAT, raw, parsed)
    return parsed


_TIMESTAMP_PATTERNS = (
    re.compile(r"^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$"),
    re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$"),   # 20240305142210
    re.compile(r"^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日\s*([0-9]{1,2})[时:]([0-9]{2})分?(?::?([0-9]{2})秒?)?$"),
)


def timestamp(value: Any, field: str, log: FixLog) -> dt.datetime | None:
    """A point in time. ISO 8601 with an offset is kept; another ISO spelling of it is a
    ``timestamp_format`` fix; local formats (``20240305142210``, ``2024/3/5 14:22:10``) are a
    ``timestamp_format`` fix too; without an offset the time is Beijing time (``timezone_assumed``)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    raw = str(value)
    cleaned = half_width_alnum(raw).strip()
    if not cleaned:
        log.add(field, FixKind.EMPTY_TO_NULL, raw, None)
        return None
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
        local_format = False
    except ValueError:
        parsed = _local_timestamp(cleaned, raw, field)
        local_format = True
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
        if local_format:
            log.add(field, FixKind.TIMESTAMP_FORMAT, raw, parsed.replace(tzinfo=None))
        log.add(field, FixKind.TIMEZONE_ASSUMED, parsed.replace(tzinfo=None), parsed)
    elif raw != parsed.isoformat():
        log.add(field, FixKind.TIMESTAMP_FORMAT, raw, parsed)
    return parsed


def _local_timestamp(cleaned: str, raw: str, field: str) -> dt.datetime:
    for pattern in _TIMESTAMP_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
            try:
                return dt.datetime(year, month, day, hour, minute, second)  # local time: the caller assumes the zone
            except ValueError:
                raise ValidationError(field, "timestamp.invalid", "not a calendar time") from None
    raise ValidationError(field, "timestamp.format",
                          "not a time (accepted: ISO 8601, 2024-03-05 14:22:10, 2024/3/5 14:22, "
                          "20240305142210)")


# -- amounts and areas --------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,，]")
_MAX_DIGITS = 19
"""An Avro long has at most 19 digits: larger numbers are refused before they are scaled."""


def _decimal(value: Any, field: str, what: str, units: str, suffixes: tuple[str, ...]) -> Decimal:
    """The number in ``value``: thousands separators and spaces removed, an optional currency sign
    (amounts) and one of the unit ``suffixes``; another unit is refused rather than misread."""
    raw = str(value)
    cleaned = _SEPARATORS.sub("", half_width_alnum(raw)).lstrip("¥￥")
    for suffix in suffixes:
        if cleaned.endswith(suffix):
            cleaned = cleaned[: -len(suffix)]
            break
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(field, f"{what}.format", f"{raw!r} is not a decimal number of {units}") from None
    if not number.is_finite():
        raise ValidationError(field, f"{what}.format", f"{raw!r} is not a decimal number of {units}")
    if number.adjusted() >= _MAX_DIGITS:  # 1e999999 would overflow the scaling, or take minutes to turn into an int
        raise ValidationError(field, f"{what}.range", f"has more than {_MAX_DIGITS} digits before the decimal point: "
                              f"no number of {units} that large fits an Avro long; check the unit")
    return number


def _scaled(value: Any, field: str, log: FixLog, factor: int, kind: FixKind,
            what: str, units: str, suffixes: tuple[str, ...]) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        log.add(field, FixKind.EMPTY_TO_NULL, value, None)
        return None
    number = _decimal(value, field, what, units, suffixes) * factor
    if number != number.to_integral_value():
        raise ValidationError(field, f"{what}.precision", f"{value!r} ({units}) is not a whole number after conversion")
    result = int(number)
    log.add(field, kind, value, result)
    return result


def yuan(value: Any, field: str, log: FixLog) -> int | None:
    """Yuan with decimals (``12,345.60``, ``¥12,345.60元``) as fen: ``1234560``."""
    return _scaled(value, field, log, 100, FixKind.AMOUNT_UNIT, "amount", "yuan", ("元",))


def wan_yuan(value: Any, field: str, log: FixLog) -> int | None:
    """Ten-thousand yuan (万元, as registered capital is often kept: ``500.5``) as fen: ``500500000``."""
    return _scaled(value, field, log, 1_000_000, FixKind.AMOUNT_UNIT, "amount", "ten-thousand yuan", ("万元", "万"))


def square_metres(value: Any, field: str, log: FixLog) -> int | None:
    """Square metres with decimals (``120.50``, ``120.50平方米``, ``89.75㎡``) as square decimetres: ``12050``."""
    return _scaled(value, field, log, 100, FixKind.AREA_UNIT, "area", "square metres", ("平方米", "㎡", "m²"))


# -- codes --------------------------------------------------------------------------------

def mapped(table: Mapping[str, str | None], described: str) -> Converter:
    """A converter looking the cleaned value up in ``table`` (local code or label -> canonical value).

    The table may map to ``None`` (e.g. ``长期``, a long-term card, has no end date).
    """

    def convert(value: Any, field: str, log: FixLog) -> str | None:
        if value is None:
            return None
        key = half_width_alnum(str(value)).strip()
        if not key:
            log.add(field, FixKind.EMPTY_TO_NULL, value, None)
            return None
        if key not in table:
            known = ", ".join(sorted(table))
            raise ValidationError(field, "code.unknown", f"{value!r} is not a known {described} (known: {known})")
        result = table[key]
        if result != value:
            log.add(field, FixKind.CODE_MAPPED, value, result)
        return result

    return convert


# -- legacy enterprise registration numbers ----------------------------------------------

def registration_number_check_digit(first14: str) -> int:
    """Check digit of a 15-digit enterprise registration number (注册号, GS 15—2006):
    ISO 7064 MOD 11,10 over the first 14 digits."""
    product = 10
    for digit in first14:
        total = (product + int(digit)) % 10 or 10
        product = (total * 2) % 11
    return (11 - product) % 10


def registration_number_problem(number: str) -> str | None:
    """``None`` if ``number`` is a well-formed 15-digit registration number, else what is wrong."""
    if len(number) != 15 or not ascii_digits(number):
        return "must be 15 digits"
    expected = registration_number_check_digit(number[:14])
    if int(number[14]) != expected:
        return f"check digit is {number[14]} but should be {expected}"
    return None
