"""``inv release.status`` says what is true at a point where it used to mislead: before the
first release (the rows and the cadence describe one version), without a GitHub token (named
as missing), and in a clone a finished rollback left (no killed run reported).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release_engine.cli import status_command
from release_engine.redact import Secrets
from release_engine.rehearsal import clone_for_rehearsal
from tests.conftest import git
from tests.engine.conftest import CURRENT

#: No remote but git and the (unreachable) index: status reads what it can.
QUIET = ["index_simple_url=http://127.0.0.1:9/simple/", "image="]


def test_before_the_first_release_the_rows_describe_the_suggested_version(
    source_repo: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    assert f"v{CURRENT}" not in git(work, "tag", "--list")  # never released
    status_command(work, None, secrets=Secrets(), as_json=True, overrides=QUIET)
    data = json.loads(capsys.readouterr().out)
    suggested = data["cadence"]["suggested_version"]
    assert suggested and suggested != CURRENT
    assert data["version"] == suggested and data["tag"] == f"v{suggested}"
    rows = {step["name"]: step for step in data["steps"]}
    assert rows["bump"]["status"] == "pending"
    assert rows["bump"]["detail"] == f"{CURRENT} -> {suggested}"
    assert rows["deploy-manifests"]["status"] != "done"
    # A repository is configured, only the token is missing: said as such, not "no repository".
    github = rows["github-release"]
    assert github["status"] == "skipped"
    assert github["detail"].startswith("GITHUB_TOKEN is not set (GitHub repository ")


def test_once_released_status_describes_the_release_itself(
    source_repo: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    git(work, "tag", "-a", f"v{CURRENT}", "-m", f"Release version {CURRENT}")
    status_command(work, None, secrets=Secrets(), as_json=True, overrides=QUIET)
    assert json.loads(capsys.readouterr().out)["version"] == CURRENT


def test_an_empty_worktree_folder_is_no_killed_rollback(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    """What a finished rollback of an earlier engine left (an empty folder) is cleared without
    a word; a worktree left in it is a killed rollback's, and said to be."""
    from release_engine.engine import open_release
    from release_engine.settle import WORKTREES, settle
    from release_engine.version import parse_version

    work = clone_for_rehearsal(source_repo, tmp_path)
    folder = work / ".git" / WORKTREES
    folder.mkdir()
    ctx = open_release(work, parse_version("9.9.9"), overrides={"image": ""})
    assert settle(ctx) == [] and not folder.exists()
    (folder / "v9.9.9").mkdir(parents=True)
    assert settle(ctx) == ["removed the temporary worktree of a rollback that was killed"]
