"""``--json`` on the tasks that change something besides ``inv release``: ``inv rollback``,
``inv hotfix`` and ``inv changelog.check`` each print one object, valid against its schema in
docs/, on success and on failure alike."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from release_engine.rehearsal import clone_for_rehearsal
from tests.conftest import REPO, git, make_repo

REPORTS = ("rollback", "hotfix", "changelog-check")


def schema(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "docs" / f"{kind}-report.schema.json").read_text())
    return data


def valid_report(kind: str, stdout: str) -> dict[str, Any]:
    """stdout holds one JSON object on one line, valid against ``docs/KIND-report.schema.json``."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    data: dict[str, Any] = json.loads(lines[0])
    jsonschema.Draft202012Validator(schema(kind)).validate(data)
    assert data["report"] == kind
    return data


def inv(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["inv", *args], cwd=work, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind", REPORTS)
def test_each_schema_is_valid_and_refuses_a_failure_without_its_error(kind: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(kind))
    validator = jsonschema.Draft202012Validator(schema(kind))
    required = schema(kind)["required"]
    failure = {key: None for key in required} | {
        "schema_version": 1, "report": kind, "tool_version": "1", "ok": False, "details": [],
    }  # fmt: skip
    for key, value in (("fragments", []), ("steps", []), ("dry_run", False)):
        if key in failure:
            failure[key] = value
    assert not validator.is_valid(failure)  # ok false and no error: refused
    assert validator.is_valid(failure | {"error": "what went wrong"})


def test_changelog_check_json_names_the_fragments_or_the_skip(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    git(work, "checkout", "-q", "-b", "topic")
    (work / "src.txt").write_text("a change\n")
    git(work, "add", "src.txt")
    git(work, "commit", "-qm", "A change")
    proc = inv(work, "changelog.check", "--json", "--compare-with", "main")
    assert proc.returncode != 0
    report = valid_report("changelog-check", proc.stdout)
    assert report["ok"] is False and "adds no changelog fragment since main" in report["error"]

    (work / "changelog.d" / "+topic.fixed.md").write_text("Fixed the topic.\n")
    git(work, "add", "changelog.d")
    git(work, "commit", "-qm", "Fragment")
    proc = inv(work, "changelog.check", "--json", "--compare-with", "main")
    assert proc.returncode == 0, proc.stderr
    report = valid_report("changelog-check", proc.stdout)
    assert report["fragments"] == ["changelog.d/+topic.fixed.md"] and report["base"] == "main"
    assert "changelog fragments OK against main" in proc.stderr  # people's line off stdout

    git(work, "checkout", "-q", "-b", "chore", "main")
    git(work, "commit", "-q", "--allow-empty", "-m", "Tidy\n\nChangelog: skip")
    proc = inv(work, "changelog.check", "--json", "--compare-with", "main")
    report = valid_report("changelog-check", proc.stdout)
    assert report["ok"] is True and report["skipped_by"] == git(work, "rev-parse", "HEAD")


def test_hotfix_json_names_the_branch_and_the_next_command(
    source_repo: Path, tmp_path: Path
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    proc = inv(work, "hotfix", "--from", "v0.0.1", "--json")
    assert proc.returncode == 3
    report = valid_report("hotfix", proc.stdout)
    assert report["ok"] is False and "tag v0.0.1 does not exist here" in "".join(
        [report["error"], *report["details"]]
    )

    git(work, "tag", "-a", "v0.0.1", "-m", "Release version 0.0.1")
    proc = inv(work, "hotfix", "--from", "v0.0.1", "--json")
    assert proc.returncode == 0, proc.stderr
    report = valid_report("hotfix", proc.stdout)
    assert report["branch"] == "hotfix/v0.0.2" and report["version"] == "0.0.2"
    assert report["next"] == "inv release --version 0.0.2"
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "hotfix/v0.0.2"


@pytest.mark.parametrize(
    ("args", "code"),
    [(("--version", "1.2"), 2), (("--version", "0.0.1"), 3), ((), 2)],
)
def test_rollback_json_on_failure(
    source_repo: Path, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    proc = inv(work, "rollback", *args, "--json", "--set", "github_repository=")
    assert proc.returncode == code, proc.stderr
    report = valid_report("rollback", proc.stdout)
    assert report["ok"] is False and report["error"] and report["resume"] is None
