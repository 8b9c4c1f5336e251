"""govbus's metric conventions, checked on a /metrics page (Prometheus text format).

1. every metric is named ``govbus_...``;
2. counters are exposed as ``..._total`` (prometheus_client appends it: a Counter named ``govbus_x`` is
   exposed as ``govbus_x_total``; ``promtool check metrics`` checks this and the units);
3. histograms measure base units: ``..._seconds`` (or ``..._bytes``);
4. labels are bounded: their names come from :data:`ALLOWED_LABELS` (names of catalogue items, departments,
   subscriptions, components, topics; codes from a fixed set), and no value looks like a record's value, an
   event id or a free-text error (:func:`label_value_problem`).

:func:`convention_problems` returns what breaks 1, 3 and 4; :func:`promtool_problems` what ``promtool check
metrics`` reports (it reads the page on stdin; any output is a problem).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "govbus_"
HISTOGRAM_UNITS = ("_seconds", "_bytes")
ALLOWED_LABELS = frozenset({
    # who and what: names from the catalogue, the sharing store or the deployment
    "department", "item", "source_system", "system", "subscription", "subscriber", "grant", "mirror", "table",
    "connector", "sink", "processor", "profile", "component", "group", "topic", "partition",
    # codes from a fixed set
    "kind", "reason", "rule", "stage", "cause", "outcome", "action", "side", "dialect", "policy", "change",
    "status", "method", "endpoint", "route",
    # Prometheus's own
    "le",
})
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\d{11,}")
"""identity numbers (18 characters, 17 digits), phone numbers, record keys: never a label"""
MAX_LABEL_VALUE = 160


def label_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label value (it looks like an id, a record's value or a message), or None."""
    if len(value) > MAX_LABEL_VALUE:
        return f"longer than {MAX_LABEL_VALUE} characters"
    if any(c.isspace() for c in value) or '"' in value:
        return "free text (spaces or quotes)"
    if _UUID.search(value):
        return "holds a UUID (an event id?)"
    if _LONG_NUMBER.search(value):
        return "holds a long number (an identifier?)"
    return None


def convention_problems(text: str) -> list[str]:
    """What in the /metrics page ``text`` breaks the conventions above (empty when nothing does)."""
    problems = []
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(PREFIX):
            problems.append(f"{family.name}: not named {PREFIX}...")
        if family.type == "histogram" and not family.name.endswith(HISTOGRAM_UNITS):
            problems.append(f"{family.name}: a histogram in {' or '.join(HISTOGRAM_UNITS)} (a base unit)")
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label not in ALLOWED_LABELS:
                    problems.append(f"{sample.name}: label {label!r} is not one of the bounded labels")
                elif label != "le" and (why := label_value_problem(value)):
                    problems.append(f"{sample.name}: label {label}={value!r} {why}")
    return sorted(set(problems))


def promtool_problems(promtool: Path, text: str) -> str:
    """What ``promtool check metrics`` says of ``text`` (empty when it finds nothing)."""
    done = subprocess.run([str(promtool), "check", "metrics"], input=text, capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)
    output = (done.stdout + done.stderr).strip()
    return output if output or done.returncode == 0 else f"promtool exited {done.returncode}"
