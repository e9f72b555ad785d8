"""The history's answers remembered by commit ids (release_engine.tools.history), on real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_engine.proc import observing
from release_engine.tools import history
from release_engine.tools.git import Git
from tests.conftest import git


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "release-engine" / "history"


def line_of_commits(repo: Path, count: int, text: str = "change") -> list[str]:
    """*count* commits on main, oldest first (their ids)."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "config", "user.email", "tests@localhost")
    git(repo, "config", "user.name", "Tests")
    for n in range(count):
        (repo / "file.txt").write_text(f"{text} {n}\n")
        git(repo, "add", "file.txt")
        git(repo, "commit", "--quiet", "-m", f"{text} {n}")
    return git(repo, "rev-list", "--reverse", "main").split()


def test_an_answer_is_asked_once_per_question_and_ids(tmp_path: Path, cache: Path) -> None:
    ids = line_of_commits(tmp_path / "repo", 2)
    asked: list[str] = []

    def ask() -> str:
        asked.append("asked")
        return f"answer {len(asked)}"

    repo = Git(tmp_path / "repo")
    assert history.remembered(repo, "walk", ids, ask) == "answer 1"
    assert history.remembered(repo, "walk", ids, ask) == "answer 1"  # from the cache
    assert history.remembered(repo, "walk", ids[:1], ask) == "answer 2"  # other ids
    assert history.remembered(repo, "contains", ids, ask) == "answer 3"  # another question
    assert len(asked) == 3 and len(list(cache.iterdir())) == 3


def test_the_answers_are_gits_and_a_moved_tag_is_another_question(
    tmp_path: Path, cache: Path
) -> None:
    repo = tmp_path / "repo"
    first, middle, last = line_of_commits(repo, 3)
    git(repo, "tag", "-a", "v1.0.0", "-m", "one", middle)
    side = tmp_path / "side"
    line_of_commits(side, 1, "elsewhere")
    git(repo, "fetch", "--quiet", str(side), "main:other")
    other = git(repo, "rev-parse", "other")
    g = Git(repo)
    tagged = git(repo, "rev-parse", "v1.0.0^{commit}")
    for _ in range(2):  # asked, then remembered: the same answers
        assert history.contains(g, last, middle) and not history.contains(g, middle, last)
        assert not history.contains(g, last, other)
        assert history.walk(g, last, [tagged], "--format=%s").splitlines() == [
            f"commit {last}",
            "change 2",
        ]
    git(repo, "tag", "-f", "-a", "v1.0.0", "-m", "moved", first)  # the tag's commit changed
    tagged = git(repo, "rev-parse", "v1.0.0^{commit}")
    assert history.walk(g, last, [tagged], "--format=%s").count("commit ") == 2


def test_a_shallow_clone_is_never_remembered(tmp_path: Path, cache: Path) -> None:
    ids = line_of_commits(tmp_path / "repo", 3)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{tmp_path / 'repo'}", str(shallow))
    asked: list[str] = []

    def ask() -> str:
        asked.append("asked")
        return "an answer"

    with observing():
        for _ in range(2):
            history.remembered(Git(shallow), "walk", ids, ask)
    assert len(asked) == 2 and not cache.exists()


def test_replaced_objects_are_never_remembered(tmp_path: Path, cache: Path) -> None:
    first, last = line_of_commits(tmp_path / "repo", 2)
    git(tmp_path / "repo", "replace", last, first)
    asked: list[str] = []

    def ask() -> str:
        asked.append("asked")
        return "an answer"

    for _ in range(2):
        history.remembered(Git(tmp_path / "repo"), "walk", [last], ask)
    assert len(asked) == 2 and not cache.exists()
