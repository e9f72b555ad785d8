"""bump-my-version moves every version file, and nothing else, with this repository's config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from release_engine.config import load_config
from tests.conftest import git, make_repo

VERSION_FILES = {
    "pyproject.toml",
    "src/market_data_ingestion/__init__.py",
    "Dockerfile",
    "docs/installation.md",
    "uv.lock",  # the project's own entry: the lock stays current after a release
}


def bump(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bumpversion", "bump", "--allow-dirty", *args],
        cwd=repo,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def repo(source_repo: Path, tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", source_repo)


def test_config_names_every_version_file(repo: Path) -> None:
    assert set(load_config(repo).version_files) == VERSION_FILES


@pytest.mark.parametrize("new", ["1.4.0", "1.4.0rc1"])
def test_bump_moves_every_version_file_and_nothing_else(repo: Path, new: str) -> None:
    old = load_config(repo).current_version
    proc = bump(repo, "--new-version", new)
    assert proc.returncode == 0, proc.stderr
    changed = set(git(repo, "diff", "--name-only").split())
    assert changed == VERSION_FILES
    diff = git(repo, "diff", "--unified=0")
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert len(removed) == len(added) == 6  # two in pyproject.toml, one in uv.lock
    assert all(old in ln for ln in removed)
    assert all(new in ln and old not in ln for ln in added)
    assert f'__version__ = "{new}"' in (repo / "src/market_data_ingestion/__init__.py").read_text()
    assert f"ARG VERSION={new}" in (repo / "Dockerfile").read_text()
    assert f'version = "{new}"' in (repo / "pyproject.toml").read_text()


@pytest.mark.parametrize("new", ["1.4.0-beta.1", "1.4", "1.4.0.post1"])
def test_a_version_the_parse_pattern_refuses_changes_nothing(repo: Path, new: str) -> None:
    proc = bump(repo, "--new-version", new)
    assert proc.returncode != 0  # without the closing $ this silently became 1.4.0
    assert git(repo, "status", "--porcelain") == ""


def test_deployment_manifest_is_moved_after_publishing_not_by_bump(repo: Path) -> None:
    manifest = repo / "deploy/k8s/deployment.yaml"
    before = manifest.read_text()  # the version deployed: after a rollback, not the current one
    assert bump(repo, "--new-version", "1.4.0").returncode == 0
    assert manifest.read_text() == before and ":v1.4.0" not in before
