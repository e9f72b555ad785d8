"""A real release installs no test server: the stand-ins' libraries are the ``rehearsal`` group.

uv.lock is read as uv resolved it (the ``release`` group's whole closure, every marker), and
the ``release`` group is installed for real from the lock into a throwaway virtual environment
(uv's cache makes that about a second): there the engine imports, pypiserver does not, and
``inv release --rehearse`` refuses in one line, exit 2, before anything changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from release_engine import standins
from release_engine.config import tomllib
from tests.conftest import REPO, git, make_repo

#: The distributions only the stand-ins need (cryptography is not among them: twine's keyring
#: requires it on Linux, through SecretStorage; PyJWT is, since the GitHub client left PyGithub).
STANDIN_ONLY = {"pypiserver", "aiosmtpd", "libpass", "pyjwt"}
PROJECT = "market-data-ingestion"


def closure(group: str) -> set[str]:
    """Every distribution uv.lock installs for *group* of the project, on any platform and
    Python (markers ignored: a superset of any one install), extras followed."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    packages: dict[str, list[dict[str, object]]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    root = packages[PROJECT][0]
    todo = [(d["name"], tuple(d.get("extra", ()))) for d in root["dev-dependencies"][group]]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for package in packages[name]:
            wanted = list(package.get("dependencies", []))  # type: ignore[call-overload]
            optional = package.get("optional-dependencies", {})
            for extra in extras:
                wanted += optional.get(extra, [])  # type: ignore[union-attr]
            todo += [(d["name"], tuple(d.get("extra", ()))) for d in wanted]
    return {name for name, _ in seen}


def test_the_release_group_holds_no_stand_in_dependency() -> None:
    release, rehearsal = closure("release"), closure("rehearsal")
    assert {"urllib3", "twine", "invoke"} <= release  # the walk reaches the release's tools
    assert "pygithub" not in release  # the GitHub client is urllib3 alone (issue #23)
    assert rehearsal >= STANDIN_ONLY
    assert not STANDIN_ONLY & release, sorted(STANDIN_ONLY & release)


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="packages_distributions() infers a package's modules from its RECORD from 3.11 on",
)
def test_the_modules_require_checks_are_the_rehearsal_groups() -> None:
    """:func:`standins.modules` (what :func:`standins.require` looks for) is what the
    rehearsal group provides, and the stand-in-only distributions each have one there."""
    providers = packages_distributions()
    provided = {
        canonicalize_name(dist) for module in standins.modules() for dist in providers[module]
    }
    assert STANDIN_ONLY <= provided <= closure("rehearsal")
    assert standins.missing() == []  # this environment has them: the tests use them


@pytest.fixture(scope="module")
def release_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment holding the ``release`` group alone, installed from uv.lock with
    its hashes, as scripts/install-locked installs it: its ``bin`` directory."""
    tmp = tmp_path_factory.mktemp("release-only")
    uv = [sys.executable, "-m", "uv"]
    requirements = tmp / "release.txt"
    export = ["export", "--frozen", "--no-emit-project", "--no-default-groups"]
    export += ["--only-group", "release", "--format", "requirements-txt", "--no-header"]
    subprocess.run([*uv, *export, "--quiet", "-o", str(requirements)], cwd=REPO, check=True)
    venv = tmp / "venv"
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = ["pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    subprocess.run([*uv, *install, "--require-hashes", "-r", str(requirements)], check=True)
    yield venv / "bin"


def test_the_release_group_runs_the_engine_without_the_stand_ins(release_only: Path) -> None:
    python = str(release_only / "python")
    code = "import release_engine.cli, release_engine.engine, release_engine.standins"
    engine = subprocess.run([python, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert engine.returncode == 0, engine.stderr
    server = subprocess.run([python, "-c", "import pypiserver"], capture_output=True, text=True)
    assert "No module named 'pypiserver'" in server.stderr


def test_a_rehearsal_without_the_stand_ins_is_one_line(release_only: Path, tmp_path: Path) -> None:
    work = make_repo(tmp_path / "repo")
    before = git(work, "for-each-ref"), git(work, "status", "--porcelain")
    env = {**os.environ, "PATH": f"{release_only}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["inv", "release", "--rehearse"], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    missing = "'pypiserver', 'passlib', 'jwt', 'aiosmtpd'"  # cryptography: twine's keyring
    assert proc.stderr == (
        f"error: the rehearsal's stand-ins are not installed (no module named {missing}): "
        "run bash scripts/install-locked rehearsal\n"
    )
    assert proc.stdout == ""
    assert (git(work, "for-each-ref"), git(work, "status", "--porcelain")) == before
