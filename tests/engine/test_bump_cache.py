"""bump-my-version's dry run, asked once per content: a success is remembered by the files it
reads, anything that could change the answer asks again, a failure is never remembered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.proc import Command
from release_engine.tools.bump import bump_command, dry_run_refusal, known_good
from release_engine.tools.git import Git
from tests.conftest import git, make_repo


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache directory of each test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def counting(repo: Path, log: Path, *, fail: bool = False) -> Command:
    """A stand-in for the dry run that notes each time it runs (and fails, with *fail*)."""
    script = f'echo run >> "{log}"; ' + ('echo "no version here" >&2; exit 1' if fail else "true")
    return Command.of("sh", "-c", script, cwd=repo)


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_success_on_a_clean_tree_is_asked_once(tmp_path: Path) -> None:
    repo, log = make_repo(tmp_path / "repo"), tmp_path / "runs"
    command = counting(repo, log)
    assert not known_good(Git(repo), command)
    assert dry_run_refusal(Git(repo), command) is None
    assert known_good(Git(repo), command)
    assert len(list((tmp_path / "cache" / "release-engine" / "checks").iterdir())) == 1
    assert dry_run_refusal(Git(repo), command) is None and runs(log) == 1
    assert not known_good(Git(repo), counting(repo, tmp_path / "other"))  # another command


def test_an_edited_version_file_or_setting_asks_again_and_other_files_do_not(
    tmp_path: Path,
) -> None:
    repo, log = make_repo(tmp_path / "repo"), tmp_path / "runs"
    command = counting(repo, log)
    dry_run_refusal(Git(repo), command)
    (repo / "README.md").write_text("edited\n")  # bump-my-version does not read it
    git(repo, "commit", "-qam", "edit")
    dry_run_refusal(Git(repo), command)
    assert runs(log) == 1 and known_good(Git(repo), command)
    other = make_repo(tmp_path / "other", repo)  # another clone, commit, path: the same files
    assert known_good(Git(other), counting(other, log))
    init = repo / "src" / "market_data_ingestion" / "__init__.py"  # a version file
    init.write_text(init.read_text() + "# edited\n")
    assert not known_good(Git(repo), command)
    dry_run_refusal(Git(repo), command)
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("ignore_missing_files = false", ""))
    dry_run_refusal(Git(repo), command)
    dry_run_refusal(Git(repo), command)
    assert runs(log) == 3


@pytest.mark.parametrize("other", [".bumpversion.toml", "glob"])
def test_where_bump_my_version_may_read_other_files_the_commit_is_the_key(
    tmp_path: Path, other: str
) -> None:
    repo, log = make_repo(tmp_path / "repo"), tmp_path / "runs"
    if other == "glob":
        pyproject = repo / "pyproject.toml"
        glob = '[[tool.bumpversion.files]]\nglob = "docs/*.md"\n'
        pyproject.write_text(pyproject.read_text() + "\n" + glob)
    else:
        (repo / other).write_text('[tool.bumpversion]\ncurrent_version = "0.0.1"\n')
    git(repo, "add", "--all")
    git(repo, "commit", "-qm", "another configuration")
    command = counting(repo, log)
    dry_run_refusal(Git(repo), command)
    dry_run_refusal(Git(repo), command)
    assert runs(log) == 1
    (repo / "README.md").write_text("edited\n")  # dirty: never remembered
    dry_run_refusal(Git(repo), command)
    dry_run_refusal(Git(repo), command)
    assert runs(log) == 3 and not known_good(Git(repo), command)
    git(repo, "commit", "-qam", "edit")  # a new commit: asked again, then remembered
    dry_run_refusal(Git(repo), command)
    dry_run_refusal(Git(repo), command)
    assert runs(log) == 4


def test_a_failure_is_never_remembered(tmp_path: Path) -> None:
    repo, log = make_repo(tmp_path / "repo"), tmp_path / "runs"
    command = counting(repo, log, fail=True)
    assert dry_run_refusal(Git(repo), command) == "no version here"
    assert dry_run_refusal(Git(repo), command) == "no version here"
    assert runs(log) == 2 and not known_good(Git(repo), command)


def test_the_real_dry_run_answers_and_is_remembered(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    good, bad = bump_command(repo, "9.9.9", dry_run=True), bump_command(repo, "x", dry_run=True)
    assert dry_run_refusal(Git(repo), good) is None and known_good(Git(repo), good)
    assert dry_run_refusal(Git(repo), bad) is not None and not known_good(Git(repo), bad)
    assert git(repo, "status", "--porcelain") == ""  # a dry run, remembered outside the clone
    assert not list(Git(repo).git_dir().glob("release/**/*"))
