"""The logic behind the sessions: the green-run record, the summary, the nested nox runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from release_engine.prerelease import matrix as prerelease
from release_engine.prerelease.matrix import SessionResult, green_run_for, record_green_run
from release_engine.tools import changelog

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PASSED = [SessionResult("lint", "success", 1.0), SessionResult("tests-3.10", "success", 2.5)]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A committed repository that ignores .release/prerelease/, as this one does; its HEAD."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch", "main")
    (path / ".gitignore").write_text(".release/prerelease/\n")
    (path / "README.md").write_text("hello\n")
    git(path, "add", "--all")
    git(path, "-c", "user.name=T", "-c", "user.email=t@localhost", "commit", "-qm", "one")
    return path, git(path, "rev-parse", "HEAD")


def test_green_run_is_recorded_for_a_clean_tree(repo: tuple[Path, str]) -> None:
    path, sha = repo
    assert not green_run_for(path, sha)
    record = record_green_run(path, sha, "1.2.3", PASSED)
    assert record == path / ".release" / "prerelease" / f"{sha}.json"
    assert green_run_for(path, sha)
    assert json.loads(record.read_text())["sessions"][1]["session"] == "tests-3.10"
    assert not green_run_for(path, "0" * 40)


@pytest.mark.parametrize("result", ["failed", "skipped", "aborted"])
def test_no_record_unless_every_session_passed(repo: tuple[Path, str], result: str) -> None:
    path, sha = repo
    results = [*PASSED, SessionResult("image", result, 3.0)]
    assert record_green_run(path, sha, "1.2.3", results) is None
    assert record_green_run(path, sha, "1.2.3", []) is None
    assert not green_run_for(path, sha)


def test_no_record_for_a_dirty_tree(repo: tuple[Path, str]) -> None:
    path, sha = repo
    (path / "new.txt").write_text("untracked\n")
    assert record_green_run(path, sha, "1.2.3", PASSED) is None
    (path / "new.txt").unlink()
    (path / "README.md").write_text("changed\n")
    assert record_green_run(path, sha, "1.2.3", PASSED) is None
    assert not green_run_for(path, sha)


def test_no_record_when_head_moved_during_the_run(repo: tuple[Path, str]) -> None:
    path, sha = repo
    git(path, "-c", "user.name=T", "-c", "user.email=t@localhost", "commit", "-qm", "2",
        "--allow-empty")  # fmt: skip
    assert record_green_run(path, sha, "1.2.3", PASSED) is None


def test_a_tampered_or_broken_record_is_not_green(repo: tuple[Path, str]) -> None:
    path, sha = repo
    record = record_green_run(path, sha, "1.2.3", PASSED)
    assert record is not None
    data = json.loads(record.read_text())
    data["sessions"][0]["result"] = "failed"
    record.write_text(json.dumps(data))
    assert not green_run_for(path, sha)
    data["sessions"][0]["result"] = "success"
    record.write_text(json.dumps({**data, "sha": "f" * 40}))
    assert not green_run_for(path, sha)
    record.write_text(json.dumps({**data, "sessions": []}))
    assert not green_run_for(path, sha)
    record.write_text("{not json")
    assert not green_run_for(path, sha)
    assert not green_run_for(path, "../../etc/passwd")


def test_this_repository_ignores_what_the_matrix_writes() -> None:
    for path in (".release/prerelease/x.json", ".nox-artifacts/dist/x.whl", ".nox/lint"):
        assert git(REPO, "check-ignore", path) == path


def test_summary_table() -> None:
    table = prerelease.format_summary(
        [*PASSED, SessionResult("image", "skipped", 0.04, "no container engine")]
    ).splitlines()
    assert table[0].split() == ["session", "result", "seconds", "reason"]
    assert table[2].split() == ["lint", "success", "1.0"]
    assert table[4].split()[:3] == ["image", "skipped", "0.0"]
    assert table[4].endswith("no container engine")
    assert table[-2].split() == ["total", "1", "not", "passed", "3.5"]
    assert table[-1] == f"prerelease: {len(PASSED)} passed, 0 failed, 1 skipped"
    assert "all passed" in prerelease.format_summary(PASSED)
    assert prerelease.format_summary(PASSED).endswith(f"{len(PASSED)} passed, 0 failed")


def test_nested_runs_share_the_environment_options() -> None:
    argv = ["--envdir", "/x", "-R", "-s", "prerelease", "--default-venv-backend=uv", "--", "-v"]
    assert prerelease.forwarded_nox_options(argv) == [
        "--envdir", "/x", "-R", "--default-venv-backend=uv",
    ]  # fmt: skip


def test_run_session_reads_each_result(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import nox\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def good(session): pass\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def bad(session): session.error('broken on purpose')\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def skipped(session): session.skip('nothing to do')\n"
        "@nox.session(python=False)\n"
        "def other(session): pass\n"
    )
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    assert prerelease.list_sessions(nox, "checklist") == ["good", "bad", "skipped"]
    results = {name: prerelease.run_session(nox, name) for name in ("good", "bad", "skipped")}
    assert results["good"].passed
    assert (results["bad"].result, results["bad"].reason) == ("aborted", "broken on purpose")
    assert (results["skipped"].result, results["skipped"].passed) == ("skipped", False)
    missing = prerelease.run_session(nox, "no-such-session")
    assert missing.result == "failed" and not missing.passed


def test_run_session_adds_env_to_the_nested_run(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import os, nox\n"
        "@nox.session(python=False)\n"
        "def probe(session):\n"
        "    if os.environ.get('PRERELEASE_PROBE') != 'yes': session.error('no PRERELEASE_PROBE')\n"
    )
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    assert prerelease.run_session(nox, "probe", env={"PRERELEASE_PROBE": "yes"}).passed
    assert prerelease.run_session(nox, "probe").reason == "no PRERELEASE_PROBE"


def test_checklist_order_builds_before_the_wheel_is_used() -> None:
    nox = [sys.executable, "-m", "nox", "--noxfile", str(REPO / "noxfile.py")]
    names = prerelease.list_sessions(nox, "checklist")
    assert {f"tests-{v}" for v in ("3.10", "3.11", "3.12", "3.13")} <= set(names)
    after_build = names[names.index("build") + 1 :]
    for needs_wheel in ("image", "migrations", "cli", "api", "sample_data", "upgrade"):
        assert needs_wheel in after_build
    assert "prerelease" not in names and "changelog" not in names


def test_missing_wheel_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(prerelease.PrereleaseError, match=r"run `nox -s build` first"):
        prerelease.find_wheel(tmp_path, "market-data-ingestion", "1.2.3")
    dist = tmp_path / prerelease.DIST_DIR
    dist.mkdir(parents=True)
    (dist / "market_data_ingestion-1.2.3-py3-none-any.whl").write_bytes(b"")
    assert prerelease.find_wheel(tmp_path, "market-data-ingestion", "1.2.3").parent == dist


def test_fragment_problems_name_the_file_and_the_valid_types(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.towncrier]\ndirectory = "changelog.d"\n'
        '[[tool.towncrier.type]]\ndirectory = "added"\nname = "Added"\n'
        '[[tool.towncrier.type]]\ndirectory = "fixed"\nname = "Fixed"\n'
    )
    fragments = tmp_path / "changelog.d"
    fragments.mkdir()
    for name in ("README.md", "12.added.md", "12.fixed.2.md", "+slug.added.md", "7.feature.md",
                 "notes.txt"):  # fmt: skip
        (fragments / name).write_text("x\n")
    assert changelog.fragment_problems(tmp_path) == [
        "changelog.d/7.feature.md: unknown fragment type 'feature'; valid types: added, fixed",
        "changelog.d/notes.txt: not a fragment name: use <issue>.<type>.md or "
        "+<slug>.<type>.md with a type among: added, fixed",
    ]
