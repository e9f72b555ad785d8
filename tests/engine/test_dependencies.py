"""Every import is declared where it is needed, and every install comes from uv.lock.

The engine (``release_engine/``, ``tasks.py``, ``noxfile.py``, ``scripts/*.py``) may import the
``release`` group; the rehearsal's stand-ins (``release_engine/standins/``) and the benchmarks
also the ``rehearsal`` group; the payload its ``[project]`` dependencies; the tests those, the
``test`` group and the ``postgresql`` extra. A module a file imports and no declared distribution
provides (found through the installed distributions' own records) is a failure here, so a
release environment built from the lock never meets an ImportError.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import packages_distributions
from pathlib import Path

import nox.project
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PYPROJECT = nox.project.load_toml(REPO / "pyproject.toml")
OURS = {"release_engine", "tests", "market_data_ingestion", "tasks", "noxfile", "__future__"}


def _names(requirements: Iterable[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def declared(*groups: str, extras: tuple[str, ...] = ()) -> set[str]:
    project = PYPROJECT["project"]
    found = _names(project["dependencies"]) | _names(
        nox.project.dependency_groups(PYPROJECT, *groups)
    )
    for extra in extras:
        found |= _names(project["optional-dependencies"][extra])
    return found


def imported(path: Path) -> set[str]:
    """The top-level modules *path* imports (anywhere in it), not counting the standard
    library, this repository's packages and modules beside it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    beside = {p.stem for p in path.parent.iterdir()}
    return {m for m in found - OURS - beside if m not in sys.stdlib_module_names}


def undeclared(files: Iterable[Path], allowed: set[str]) -> list[str]:
    """``file: module (distribution)`` for each import no distribution in *allowed* provides."""
    providers = packages_distributions()
    problems = []
    for path in files:
        for module in sorted(imported(path)):
            dists = {canonicalize_name(d) for d in providers.get(module, [module])}
            if not dists & allowed:
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                problems.append(f"{where}: {module} ({', '.join(sorted(dists))})")
    return problems


STANDINS = ["release_engine/standins/*.py", "bench/*.py"]
AREAS = {
    "engine": (
        ["release_engine/**/*.py", "tasks.py", "noxfile.py", "scripts/*.py"],
        lambda: declared("release"),
    ),
    "standins": (STANDINS, lambda: declared("release", "rehearsal")),
    "payload": (["src/**/*.py"], lambda: declared()),
    "tests": (
        ["tests/**/*.py"],
        lambda: declared("test", "release", "rehearsal", extras=("postgresql",)),
    ),
}
#: Files an area's globs take that belong to another area (the engine's stand-ins).
ELSEWHERE = {"engine": STANDINS}


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="packages_distributions() infers a package's modules from its RECORD from 3.11 on",
)
@pytest.mark.parametrize("area", sorted(AREAS))
def test_every_import_is_declared_in_the_group_that_needs_it(area: str) -> None:
    globs, allowed = AREAS[area]
    elsewhere = {p for g in ELSEWHERE.get(area, []) for p in REPO.glob(g)}
    files = sorted({p for g in globs for p in REPO.glob(g)} - elsewhere)
    assert files
    assert undeclared(files, allowed()) == []


def test_an_undeclared_import_fails(tmp_path: Path) -> None:
    module = tmp_path / "step.py"
    module.write_text("import json\nimport yaml\nfrom packaging.version import Version\n")
    found = undeclared([module], declared("release"))
    assert len(found) == 1 and found[0].endswith("step.py: yaml (pyyaml)"), found


def test_the_lock_matches_pyproject() -> None:
    """uv.lock holds what pyproject.toml asks for: a changed requirement without `uv lock`
    fails here (and in every install, which uses --frozen)."""
    proc = subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


INSTALLERS = ["scripts/bootstrap", ".github/workflows/ci.yml", ".github/workflows/release.yml"]


@pytest.mark.parametrize("path", INSTALLERS)
def test_installs_come_from_the_lock(path: str) -> None:
    """No installer names a package itself: bootstrap and the workflows go through
    scripts/install-locked (which pins uv by the lock, then installs with hashes)."""
    text = (REPO / path).read_text()
    assert not re.search(r"pip install(?! --quiet --python)(?!.*uv==)", text), path
    assert "install-locked" in text or "scripts/bootstrap" in text, path


def test_the_nox_sessions_install_only_what_the_lock_pins() -> None:
    tree = ast.parse((REPO / "noxfile.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "install":
            for arg in node.args:
                if isinstance(arg, ast.Constant):  # a literal: the project itself, nothing else
                    assert arg.value.startswith("."), f"line {node.lineno}: {arg.value}"
