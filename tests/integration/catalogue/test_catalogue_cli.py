"""`govbus catalogue list|show` as a subprocess, the way an operator runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from schemas.catalogue import load_catalogue
from schemas.catalogue.loader import packaged_items

CATALOGUE = load_catalogue()


def govbus(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "250", **env}
    for name in ("GOVBUS_CATALOGUE_DIR", "GOVBUS_TOPIC_PREFIX"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "govbus.cli", *args], env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


def test_list_json_has_every_item_with_its_metadata_and_topics() -> None:
    done = govbus("catalogue", "list", "--json")
    assert done.returncode == 0, done.stderr
    listed = {entry["item"]: entry for entry in json.loads(done.stdout)}
    assert set(listed) == set(CATALOGUE.names())
    identity = listed["identity_verification"]
    assert identity["sharing_class"] == "conditional" and identity["open_to_public"] is False
    assert identity["personal_fields"]["resident_id"] == "resident_id"
    assert identity["department"] == "public-security"
    assert identity["topics"]["department"] == "govbus.dept.public-security.identity-verification"
    assert identity["subject"] == "govbus.dept.public-security.identity-verification-value"
    assert listed["government_procurement_award"]["key_fields"] == ["project_number", "lot_number"]
    assert listed["mining_right_transfer"]["open_to_public"] is True


def test_list_table_and_department_filter() -> None:
    done = govbus("catalogue", "list", "--department", "natural-resources")
    assert done.returncode == 0, done.stderr
    assert "3 data items" in done.stdout
    for name in ("real_estate_registration", "land_use_right_transfer", "mining_right_transfer"):
        assert name in done.stdout
    assert "credit_record" not in done.stdout
    assert "conditional" in done.stdout and "owner_resident_id (resident_id)" in done.stdout

    unknown = govbus("catalogue", "list", "--department", "agriculture")
    assert unknown.returncode == 1 and "no department 'agriculture'" in unknown.stderr


def test_show_prints_fields_classes_masking_owner_topics_and_legal_basis() -> None:
    done = govbus("catalogue", "show", "real_estate_registration", "--topic-prefix", "govbus.test-x")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "不动产登记信息 / Real-estate registration" in out
    assert "natural-resources (自然资源部门)" in out
    assert "conditional" in out and "A grant approved by the real-estate registration authority" in out
    assert re.search(r"owner_resident_id +│ resident_id +│ 110101\*{8}123X", out)
    assert re.search(r"encumbrances\[\]\.holder +│ name +│ 张\*", out), "a nested personal field"
    assert re.search(r"encumbrances\[\]\.kind .*│ not personal", out) and "personal, masked as name" in out
    assert "govbus.test-x.dept.natural-resources.real-estate-registration" in out
    assert "《不动产登记暂行条例》" in out
    assert "encumbrances[].kind" in out and "enum EncumbranceKind {MORTGAGE" in out
    assert "null | date" in out


def test_show_json_lists_the_fields() -> None:
    done = govbus("catalogue", "show", "credit_record", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["item"] == "credit_record" and shown["sharing_class"] == "unconditional"
    fields = {f["name"]: f for f in shown["fields"]}
    assert fields["decided_on"]["type"] == "date"
    assert fields["penalty_kind"]["type"].startswith("null | enum PenaltyKind {WARNING, FINE")
    assert fields["decision_number"]["doc"].startswith("Number of the decision document")


def test_show_unknown_item_is_one_line_with_close_matches() -> None:
    done = govbus("catalogue", "show", "real_estate_registraton")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no data item 'real_estate_registraton'" in lines[0]
    assert "close matches: real_estate_registration" in lines[0]
    assert done.stdout == ""


def test_catalogue_dir_from_the_environment_is_read(tmp_path: Path) -> None:
    for entry in packaged_items().iterdir():
        if entry.name.startswith("credit_record."):
            text = entry.read_text(encoding="utf-8")
            if entry.name.endswith(".json"):
                text = text.replace("行政许可和行政处罚信用信息", "双公示信息")
            (tmp_path / entry.name).write_text(text, encoding="utf-8")
    done = govbus("catalogue", "list", "--json", GOVBUS_CATALOGUE_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [(e["item"], e["title"]["zh"]) for e in listed] == [("credit_record", "双公示信息")]
