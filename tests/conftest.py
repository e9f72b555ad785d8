"""Shared fixtures: throwaway copies of this repository, as real git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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


#: The files of changelog.d/ that are not fragments (towncrier's ``ignore`` lists them).
NOT_FRAGMENTS = ("README.md", "template.md")


def make_repo(dest: Path, source: Path = REPO) -> Path:
    """A new git repository on main holding a copy of *source*, committed once."""
    dest.mkdir(parents=True, exist_ok=True)
    copy_tree(dest, source)
    git(dest, "init", "--quiet", "--initial-branch", "main")
    git(dest, "config", "user.email", "tests@localhost")
    git(dest, "config", "user.name", "Tests")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "Initial commit")
    return dest


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as it is now, committed into a throwaway git repository."""
    return make_repo(tmp_path_factory.mktemp("source") / "repo")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the developer's own environment leak into a test."""
    for name in (
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "TWINE_PASSWORD",
        "TWINE_USERNAME",
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "RELEASE_NOTIFY_WEBHOOKS",
    ):
        monkeypatch.delenv(name, raising=False)


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
