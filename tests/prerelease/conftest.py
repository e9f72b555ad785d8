"""Meta-tests of the pre-release matrix: copy the repository, break one thing, run the real
nox session on the copy, and check that it fails and says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.prerelease.nox_copies import Copy


@pytest.fixture(scope="session")
def nox_envdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nox-envs")


@pytest.fixture
def repo_copy(tmp_path: Path, nox_envdir: Path) -> Copy:
    return Copy(make_repo(tmp_path / "repo"), nox_envdir)
