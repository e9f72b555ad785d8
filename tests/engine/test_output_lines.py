"""The tasks' plain lines and the end of ``inv release`` go through output.py, redacted: no
command prints a secret past it (``cli.py`` and ``release_engine/commands/`` call no print)."""

from __future__ import annotations

import ast
import io
import json

import pytest

from release_engine.output import print_line, print_release
from release_engine.plan import Outcome, Status
from release_engine.redact import Secrets
from release_engine.report import Report
from tests.conftest import REPO

TOKEN = "ghs_secret0123456789"


def test_a_line_is_redacted_and_goes_where_it_is_told(capsys: pytest.CaptureFixture[str]) -> None:
    secrets = Secrets([TOKEN])
    print_line(f"release lock: held, {TOKEN}", secrets=secrets)
    print_line(f"mismatch: https://user:{TOKEN}x@host/", err=True, secrets=secrets)
    out, err = capsys.readouterr()
    assert out == "release lock: held, ***\n"
    assert err == "mismatch: https://user:***@host/\n"


@pytest.mark.parametrize("as_json", [True, False])
def test_the_release_report_is_one_object_or_the_table(as_json: bool) -> None:
    steps = [Outcome("tag", "Create git tag", Status.DONE, f"by {TOKEN}")]
    report = Report(version="1.2.3", tag="v1.2.3", dry_run=True, rehearsal=True, steps=steps)
    stream = io.StringIO()
    print_release(report, stream, as_json=as_json, secrets=Secrets([TOKEN]))
    text = stream.getvalue()
    assert TOKEN not in text
    if as_json:
        assert json.loads(text)["tag"] == "v1.2.3" and text.count("\n") == 1
    else:
        assert "Rehearsal of release v1.2.3 (dry run: nothing changed)" in text


def test_no_command_prints_past_the_output_module() -> None:
    files = [
        REPO / "release_engine" / "cli.py",
        *(REPO / "release_engine" / "commands").glob("*.py"),
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.name}:{node.lineno}"
