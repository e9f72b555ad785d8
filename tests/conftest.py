"""Shared fixtures: throwaway copies of this repository, as real git repositories."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from release_engine.version import Version

REPO = Path(__file__).resolve().parents[1]
#: The version the versions written in tests and docs start from: their ``0.2.0`` is "the
#: minor after the project's", and :func:`moved_up` makes it so once the project has released.
WRITTEN_FROM = Version(0, 1, 0)
_WRITTEN = re.compile(r"(?<![\d.])0\.([1-9]\d*)\.(0|[1-9]\d*)(?!\.?\d)")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, text=True, capture_output=True
    ).stdout.strip()


def copy_tree(dest: Path, source: Path = REPO) -> Path:
    """The files git would commit in *source* (tracked and untracked, not ignored)."""
    listed = git(source, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        src = source / name
        if not src.is_file():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def moved_up(text: str, current: Version) -> str:
    """*text* with each ``0.A.B`` written for a project at :data:`WRITTEN_FROM` moved up to
    *current*: from 1.4.2, ``0.2.0`` is 1.5.0, ``0.3.0`` 1.6.0 and ``0.2.1`` 1.5.1."""
    if current.release == WRITTEN_FROM:
        return text

    def moved(match: re.Match[str]) -> str:
        minor = current.minor + int(match.group(1)) - WRITTEN_FROM.minor
        return f"{current.major}.{minor}.{match.group(2)}"

    return _WRITTEN.sub(moved, text)


#: The files of changelog.d/ that are not fragments (towncrier's ``ignore`` lists them).
NOT_FRAGMENTS = ("README.md", "template.md")


def make_repo(dest: Path, source: Path = REPO) -> Path:
    """A new git repository on main holding a copy of *source*, committed once.

    The copy has a changelog fragment waiting, as a branch of work does: right after the
    project's own release, when changelog.d/ holds none, one is added (the tests release it).
    """
    dest.mkdir(parents=True, exist_ok=True)
    copy_tree(dest, source)
    with_a_fragment(dest)
    git(dest, "init", "--quiet", "--initial-branch", "main")
    git(dest, "config", "user.email", "tests@localhost")
    git(dest, "config", "user.name", "Tests")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "Initial commit")
    return dest


def with_a_fragment(tree: Path) -> None:
    """Add a changelog fragment to *tree* when changelog.d/ holds none (a released tree)."""
    fragments = tree / "changelog.d"
    if fragments.is_dir() and not any(
        f.name not in NOT_FRAGMENTS for f in fragments.iterdir() if f.is_file()
    ):
        (fragments / "+tests.added.md").write_text("Added what the tests release.\n")


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as it is now, committed into a throwaway git repository."""
    return make_repo(tmp_path_factory.mktemp("source") / "repo")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the developer's own environment leak into a test: every variable
    a remote reads (:meth:`release_engine.remotes.Remote.variables`), for the project's
    configuration."""
    from release_engine.config import load_config
    from release_engine.remotes import remotes

    config = load_config(REPO)
    for remote in remotes():
        for name in remote.variables(config):
            monkeypatch.delenv(name, raising=False)


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
