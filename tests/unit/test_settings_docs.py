"""``govbus config`` and the settings tables in the READMEs: generated from the settings models, never drifting."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from govbus.cli import main
from govbus.commands.settings_docs import COMPONENTS, REDACTED, block_in, current, readme_block, rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_each_components_readme_holds_its_settings_table_as_generated(name: str) -> None:
    readme = COMPONENTS[name].readme
    found = block_in((ROOT / readme).read_text(encoding="utf-8"), name)
    assert found is not None, f"{readme} has no settings table of {name}: add the markers and run " \
                              "`govbus config --update-readmes`"
    assert found == readme_block(name), f"the settings table of {name} in {readme} drifted from its model: run " \
                                        "`govbus config --update-readmes`"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_every_setting_says_what_it_does(name: str) -> None:
    undocumented = [row.env for row in rows(COMPONENTS[name].settings) if not row.description]
    assert not undocumented, f"give these settings of {name} a Field(description=...): {undocumented}"


def test_secrets_are_redacted_and_unset_settings_show_their_default() -> None:
    [dsn] = [row for row in rows(COMPONENTS["mirror"].settings) if row.env == "GOVBUS_MIRROR_DSN"]
    [size] = [row for row in rows(COMPONENTS["mirror"].settings) if row.env == "GOVBUS_MIRROR_BATCH_SIZE"]
    environ = {"GOVBUS_MIRROR_DSN": "postgresql://mirror:s3cret@db/govbus", "GOVBUS_MIRROR_BATCH_SIZE": "500"}
    assert dsn.secret and current(dsn, environ) == REDACTED
    assert current(size, environ) == "500" and current(size, {}) == "(default)"


def test_the_command_prints_the_values_set_now_and_refuses_an_unknown_component() -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["config", "mirror"], env={"GOVBUS_MIRROR_DSN": "postgresql://u:s3cret@db/x",
                                                          "GOVBUS_MIRROR_BATCH_SIZE": "500", "COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "GOVBUS_MIRROR_BATCH_SIZE" in shown.output and "500" in shown.output
    assert "s3cret" not in shown.output and REDACTED in shown.output
    unknown = runner.invoke(main, ["config", "mirrors"])
    assert unknown.exit_code == 1 and "no component mirrors" in unknown.output and "Traceback" not in unknown.output
