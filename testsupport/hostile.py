"""Generated hostile input for the property-based tests (hypothesis), and the count of what was generated.

Issue #11 point 5: at least 10,000 generated inputs in total reach the gateway, the registry, the bulk
publisher, the normaliser and the PostgreSQL mirror, and none wins (no 5xx, no crashed worker). Every such
test takes its example count from :data:`BUDGETS` through :func:`budget`, so the total is read in one place
(``tests/unit/hostile/test_hostile_budget.py`` asserts it is at least :data:`TOTAL_AT_LEAST`), and counts the examples
it actually ran with :func:`ran`; the test session prints them at its end (``tests/conftest.py``).

Every test runs derandomized (a seed fixed by the test's name) without a deadline or an example database:
the suite is reproducible and never flaky, and a failure prints the example that caused it.

The values come from :class:`Hostile`, a generator driven by a ``random.Random`` seeded with a number that
hypothesis draws (see :func:`hostile`): composing hypothesis' own text and integer strategies cost 5 to 20 ms
per record (each of its draws is recorded for shrinking), this a fraction of one, so the in-process tests run
thousands of examples in seconds. A failure prints the seed (``Hostile(seed=...)``) and the input drawn.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import reprlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

TOTAL_AT_LEAST = 10_000

BUDGETS: dict[str, int] = {
    # in-process: the pure validation, parsing and encoding paths, thousands of examples each
    "publisher.prepare": 2400,
    "gateway.parse_body": 1200,
    "bulk.read_records": 500,
    "registry.inputs": 800,
    "registry.schemas": 400,
    "normaliser.step": 1200,
    "normaliser.dialects": 800,
    "mirror.values": 2000,
    "mirror.change_reader": 1200,
    # against live servers: fewer, each a real request or write
    "gateway.live": 60,
    "registry.live": 120,
    "bulk.live": 30,
    "mirror.live": 120,
}
"""Examples per test (the test's ``max_examples``)."""

RAN: Counter[str] = Counter()
"""Examples each test ran in this session (hypothesis may stop short of its budget when it runs out of inputs)."""


def budget(name: str) -> settings:
    """The hypothesis settings of the test counted as ``name``."""
    return settings(max_examples=BUDGETS[name], derandomize=True, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


def ran(name: str) -> None:
    """Count one example of the test ``name`` (call it in the test's body)."""
    RAN[name] += 1


def summary() -> str:
    """One line per test that ran examples, and the total."""
    lines = [f"  {name:<24} {RAN[name]:>6} of {BUDGETS.get(name, 0)}" for name in sorted(RAN)]
    return "\n".join([*lines, f"  {'total':<24} {sum(RAN.values()):>6}"])


# -- values -------------------------------------------------------------------------------------------------

NASTY_STRINGS = (
    "", " ", "\x00", "a\x00b", "王\x00芳", "\x1b[31mred", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\ud800",
    "x\udfffy", "\udc80", "٣٣٠١٠٠", "३३०१००", "３３０１００", "²³⁴", "𝟗𝟗", "NaN", "Infinity", "-0", "1e999999",
    "9" * 400, "null", "true", "{}", "[]", "|", "a|b", "||", "'; DROP TABLE x; --", "\\u0000", "%00", "../..",
    "😀" * 5, "\r\n", "\t", " \x00 ", "<script>", "\x00\x01\x02", "x" * 5000,
)
"""Strings that broke or could break something: NUL and other controls, lone surrogates, digits of other
scripts, huge numbers as text, separators, injection attempts, a long one."""

EDGE_NUMBERS: tuple[int | float, ...] = (
    0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**100, -(10**100),
    10**4000, 0.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan"), 5e-324,
)
"""Numbers at and past the edges of Avro's int and long, enormous ones, and floats that are not numbers."""

_DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９²³𝟗X"
_KEYS = ("a", "", "\x00", "record", "uscc", "name", "__proto__", "$ref", "type", "😀")


class Hostile:
    """Hostile values drawn from ``random.Random(seed)``: the same seed, the same values."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"Hostile(seed={self.seed})"

    def char(self) -> str:
        """One character: a control, a lone surrogate, another script's digit, or anything."""
        pick = self.rng.random()
        if pick < 0.2:
            return chr(self.rng.choice([*range(0x20), 0x7F, 0x85, 0x9F]))
        if pick < 0.3:
            return chr(self.rng.randint(0xD800, 0xDFFF))
        if pick < 0.45:
            return self.rng.choice(_DIGITS)
        if pick < 0.75:
            return chr(self.rng.randint(0x20, 0x7E))
        if pick < 0.9:
            return chr(self.rng.randint(0x4E00, 0x9FFF))
        return chr(self.rng.randint(0xA0, 0x10FFFF))

    def text(self, max_size: int = 24) -> str:
        return "".join(self.char() for _ in range(self.rng.randint(0, max_size)))

    def string(self) -> str:
        pick = self.rng.random()
        if pick < 0.3:
            return self.rng.choice(NASTY_STRINGS)
        if pick < 0.45:
            return "".join(self.rng.choice(_DIGITS) for _ in range(self.rng.choice([6, 15, 17, 18, 19])))
        return self.text()

    def with_control(self, value: str) -> str:
        """``value`` with a control character or a lone surrogate put in somewhere."""
        at = self.rng.randint(0, len(value))
        bad = chr(self.rng.choice([*range(0x20), 0x7F, 0x85, 0x9F, 0xD800, 0xDBFF, 0xDC80, 0xDFFF]))
        return value[:at] + bad + value[at:]

    def number(self) -> int | float:
        pick = self.rng.random()
        if pick < 0.5:
            return self.rng.choice(EDGE_NUMBERS)
        if pick < 0.75:
            return self.rng.randint(-(2**70), 2**70)
        return self.rng.uniform(-1e20, 1e20)

    def scalar(self) -> Any:
        pick = self.rng.random()
        if pick < 0.1:
            return None
        if pick < 0.2:
            return self.rng.random() < 0.5
        if pick < 0.5:
            return self.number()
        return self.string()

    def value(self, leaves: int = 6) -> Any:
        """Any JSON-like value (hostile keys too), shallow; :meth:`deep` for depth."""
        if leaves <= 1 or self.rng.random() < 0.5:
            return self.scalar()
        size = self.rng.randint(0, 4)
        if self.rng.random() < 0.5:
            return [self.value(leaves // 2) for _ in range(size)]
        return {self.key(): self.value(leaves // 2) for _ in range(size)}

    def key(self) -> str:
        return self.rng.choice(_KEYS) if self.rng.random() < 0.5 else self.string()

    def deep(self) -> Any:
        """A list or object nested 100 to 3,000 deep: past Python's recursion limit for anything that recurses."""
        return nested(self.rng.randint(100, 3000), self.rng.choice(["list", "dict"]))

    def deep_text(self, least: int = 100, most: int = 100_000) -> str:
        """JSON text nested ``least`` to ``most`` deep (``json.loads`` recurses: RecursionError, not ValueError)."""
        depth = self.rng.randint(least, most)
        opening, closing = self.rng.choice([("[", "]"), ('{"a":', "}")])
        return opening * depth + "1" + closing * depth

    def mutated(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """A valid record made hostile: a value replaced by anything (deep nesting, a huge number), a control
        character slipped into a text, a field dropped or added."""
        record = dict(base)
        fields = sorted(record)
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.choice(["replace", "control", "control", "number", "drop", "extra", "deep"])
            field = self.rng.choice(fields)
            current = record.get(field)
            if kind == "control" and isinstance(current, str):
                record[field] = self.with_control(current)
            elif kind == "number":
                record[field] = self.number()
            elif kind == "drop":
                record.pop(field, None)
            elif kind == "extra":
                record[self.key()] = self.value(3)
            elif kind == "deep":
                record[field] = self.deep()
            else:
                record[field] = self.value(4)
        return record

    def record(self, base: Mapping[str, Any]) -> Any:
        """A hostile record: mostly a mutated valid one, sometimes fields of anything, sometimes not a record."""
        pick = self.rng.random()
        if pick < 0.7:
            return self.mutated(base)
        if pick < 0.9:
            names = sorted(base)
            return {(self.rng.choice(names) if self.rng.random() < 0.7 else self.key()): self.value(3)
                    for _ in range(self.rng.randint(0, len(names)))}
        return self.value(6)

    def json_body(self) -> bytes:
        """A request body or file line: JSON of anything, deep nesting, huge number literals, truncated or
        invalid JSON, bytes that are not UTF-8."""
        pick = self.rng.random()
        if pick < 0.35:
            return encoded(to_json_text(self.value(8)))
        if pick < 0.45:
            return self.deep_text(500, 100_000).encode()
        if pick < 0.55:
            return self.rng.choice(_NUMBER_LITERALS).encode()
        if pick < 0.7:
            text = encoded(to_json_text(self.value(8)))
            return text[: self.rng.randint(0, len(text))]
        if pick < 0.85:
            return self.rng.randbytes(self.rng.randint(0, 64))
        return b'{"name": "' + self.rng.randbytes(self.rng.randint(1, 8)) + b'"}'


    # -- Avro schemas ----------------------------------------------------------------------------------------

    def name(self) -> str:
        """An Avro name: mostly a valid one (so parsing goes deep), sometimes anything."""
        if self.rng.random() < 0.8:
            return self.rng.choice(["R", "S", "a", "x_1", "Rec", "ns.R", "T"]) + str(self.rng.randint(0, 3))
        return self.string()

    def schema(self, depth: int = 0) -> Any:
        """An Avro schema as JSON data: valid, nearly valid or hostile (bad names and defaults, duplicate
        symbols, recursive references, huge sizes, logical types on the wrong base, protocol-only types, deep)."""
        pick = self.rng.random()
        if depth > 4 or pick < 0.25:
            return self.rng.choice([*_PRIMITIVES, "error", "record", "R0", "ns.R1", self.string()])
        if pick < 0.45:
            fields = [{"name": self.name(), "type": self.schema(depth + 1), **self._field_extras()}
                      for _ in range(self.rng.randint(0, 4))]
            return {"type": self.rng.choice(["record", "record", "error"]), "name": self.name(), "fields": fields,
                    **self._named_extras()}
        if pick < 0.55:
            symbols = [self.name() for _ in range(self.rng.randint(0, 4))]
            return {"type": "enum", "name": self.name(), "symbols": symbols, **self._named_extras()}
        if pick < 0.6:
            return {"type": "fixed", "name": self.name(), "size": self.rng.choice([16, 0, -1, 2**40, "16", None])}
        if pick < 0.7:
            kind = self.rng.choice(["array", "map"])
            return {"type": kind, ("items" if kind == "array" else "values"): self.schema(depth + 1)}
        if pick < 0.8:
            return [self.schema(depth + 1) for _ in range(self.rng.randint(0, 4))]
        if pick < 0.88:
            return {"type": self.rng.choice(["int", "long", "bytes", "string", "fixed"]),
                    "logicalType": self.rng.choice(_LOGICAL), "precision": self.number(), "scale": self.number()}
        return self.value(6)

    def _field_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if self.rng.random() < 0.4:
            extras["default"] = self.value(3)
        if self.rng.random() < 0.1:
            extras["order"] = self.rng.choice(["ascending", "descending", "ignore", self.string()])
        if self.rng.random() < 0.1:
            extras["aliases"] = [self.name() for _ in range(self.rng.randint(0, 2))]
        return extras

    def _named_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if self.rng.random() < 0.3:
            extras["namespace"] = self.rng.choice(["ns", "a.b", "", "1bad", self.string()])
        if self.rng.random() < 0.2:
            extras["aliases"] = [self.name() for _ in range(self.rng.randint(0, 2))]
        if self.rng.random() < 0.2:
            extras["default"] = self.value(2)
        if self.rng.random() < 0.1:
            extras[self.key()] = self.value(2)
        return extras

    def schema_text(self) -> str:
        """A schema as the text a client sends: JSON of :meth:`schema`, sometimes nested 100 to 3,000 deep, cut
        short or not JSON at all."""
        pick = self.rng.random()
        if pick < 0.08:
            depth = self.rng.randint(100, 3000)
            opening, closing = self.rng.choice([('{"type": "array", "items": ', "}"), ('["null", ', "]"),
                                                ('{"type": "map", "values": ', "}")])
            return opening * depth + '"int"' + closing * depth
        text = to_json_text(self.schema())
        if pick < 0.12:
            return text[: self.rng.randint(0, len(text))]
        if pick < 0.16:
            return self.string()
        return text


_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
_LOGICAL = ("decimal", "uuid", "date", "time-millis", "timestamp-millis", "local-timestamp-micros", "duration", "x")
_NUMBER_LITERALS = ("1" * 5000, "1e999999", "-1e999999", "[1e400]", "NaN", "-Infinity", "0x10", "[" + "9" * 4400 + "]",
                    '{"a": 1e309}', "-", "01", "1.", ".5")


def hostile() -> st.SearchStrategy[Hostile]:
    """A :class:`Hostile` generator whose seed hypothesis draws (``derandomize`` fixes the seeds); a test shows
    what it drew with ``hypothesis.note`` so a failure prints the input."""
    return st.integers(min_value=0, max_value=2**64).map(Hostile)


_SHOWN = reprlib.Repr()  # Python 3.11's takes no arguments
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 8, 300, 300, 60


def shown(value: Any) -> str:
    """A short repr of a generated input for ``hypothesis.note`` (deep values cut at eight levels)."""
    return _SHOWN.repr(value)


def nested(depth: int, kind: str = "list") -> Any:
    """A value nested ``depth`` deep (built without recursion)."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def to_json_text(value: Any) -> str:
    """``value`` as JSON text, lone surrogates and non-finite numbers kept (as a hostile client would send), nested
    as deep as it is (``json.dumps`` stops at Python's recursion limit)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except RecursionError:
        return _deep_json(value)


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text


def _deep_json(value: Any) -> str:
    """JSON text of ``value`` written with a stack of its own instead of recursion."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, list | dict):
            pairs = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            out.append("{" if isinstance(item, dict) else "[")
            stack.append(_Raw("}" if isinstance(item, dict) else "]"))
            for index in range(len(pairs) - 1, -1, -1):
                key, child = pairs[index]
                stack.append(child)
                if key is not None:
                    stack.append(_Raw(json.dumps(str(key), ensure_ascii=False) + ":"))
                if index:
                    stack.append(_Raw(","))
        else:
            out.append(json.dumps(item, ensure_ascii=False, allow_nan=True, default=str))
    return "".join(out)


def encoded(text: str) -> bytes:
    """``text`` as UTF-8, lone surrogates written as the (invalid) bytes a careless encoder produces."""
    return text.encode("utf-8", errors="surrogatepass")


def jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    """A validated record as JSON-ready values (dates and times as ISO 8601)."""
    return {name: _plain(value) for name, value in record.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return jsonable(value)
    return value
