"""graphflow credentials set/list/delete: the value from stdin, never argv, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphflow.ui.cli import app

runner = CliRunner()
VALUE = "tok-cli-5e8f02aa"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "gf.db")


def test_set_list_replace_delete(db):
    done = runner.invoke(app, ["credentials", "set", "crm", "--db", db], input=VALUE + "\n")
    assert done.exit_code == 0 and "stored credential crm" in done.output and VALUE not in done.output
    again = runner.invoke(app, ["credentials", "set", "crm", "--db", db], input="other-value")
    assert again.exit_code == 0 and "replaced credential crm" in again.output
    listed = runner.invoke(app, ["credentials", "list", "--db", db])
    assert listed.exit_code == 0 and "crm" in listed.stdout and VALUE not in listed.stdout
    assert "other-value" not in listed.stdout
    gone = runner.invoke(app, ["credentials", "delete", "crm", "--db", db])
    assert gone.exit_code == 0 and "deleted credential crm" in gone.output
    missing = runner.invoke(app, ["credentials", "delete", "crm", "--db", db])
    assert missing.exit_code == 2 and "no stored credential named 'crm'" in missing.output


def test_a_value_on_the_command_line_is_refused(db):
    done = runner.invoke(app, ["credentials", "set", "crm", VALUE, "--db", db])
    assert done.exit_code == 2
    assert "crm" not in runner.invoke(app, ["credentials", "list", "--db", db]).stdout


def test_bad_name_and_empty_value(db):
    bad = runner.invoke(app, ["credentials", "set", "no spaces", "--db", db], input="v")
    assert bad.exit_code == 2 and "credential name 'no spaces'" in bad.output
    empty = runner.invoke(app, ["credentials", "set", "crm", "--db", db], input="\n")
    assert empty.exit_code == 2 and "no value given" in empty.output
