"""bench/drive.py's ``--no-semver`` module stands in for ``release_engine.semver`` wherever the
engine reaches for it, with the guard's signatures, so the benchmark's "dry run with the semver
guard removed" stays the engine's dry run and not a crash (bench/README.md, the ``semver`` row).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

import release_engine.semver.guard as guard
from tests.conftest import REPO


def _load_driver() -> ModuleType:
    """bench/drive.py, loaded from its file (bench/ is no package)."""
    spec = importlib.util.spec_from_file_location("bench_drive", REPO / "bench" / "drive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drive = _load_driver()


def used_names() -> set[str]:
    """Every name the engine takes from ``release_engine.semver`` outside the package:
    ``from ..semver import NAME`` and ``semver.NAME`` after ``from . import semver``."""
    found: set[str] = set()
    for path in (REPO / "release_engine").rglob("*.py"):
        if path.parent.name == "semver":
            continue
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        imports = [n for n in nodes if isinstance(n, ast.ImportFrom)]
        for node in imports:
            if (node.module or "").endswith("semver"):
                found |= {alias.name for alias in node.names}
        if any(alias.name == "semver" for node in imports for alias in node.names):
            found |= {
                n.attr
                for n in nodes
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "semver"
            }
    return found


@pytest.fixture
def stub() -> Iterator[object]:
    saved = sys.modules.get("release_engine.semver")
    drive._no_semver()
    try:
        yield sys.modules["release_engine.semver"]
    finally:
        if saved is None:
            sys.modules.pop("release_engine.semver", None)
        else:
            sys.modules["release_engine.semver"] = saved


def test_the_stub_has_every_name_the_engine_uses_with_its_signature(stub: object) -> None:
    names = used_names()
    assert {"preflight_findings", "suggestion", "waiver_note"} <= names
    for name in names:
        assert hasattr(stub, name), f"bench/drive.py's stub lacks release_engine.semver.{name}"
        real = getattr(guard, name)
        if callable(real):
            assert list(inspect.signature(getattr(stub, name)).parameters) == [
                p.name
                for p in inspect.signature(real).parameters.values()
                if p.kind != p.KEYWORD_ONLY
            ], name


def test_the_stub_finds_nothing_as_for_a_first_release(stub: object) -> None:
    assert stub.preflight_findings(None) == ([], [])  # type: ignore[attr-defined]
    assert stub.suggestion(REPO, "v", "HEAD") is None  # type: ignore[attr-defined]
    assert stub.waiver_note(None) == ""  # type: ignore[attr-defined]


def test_every_phase_the_profile_times_is_where_the_commands_look_it_up() -> None:
    """``python bench/run.py --profile`` wraps these: a renamed or moved one is named here."""
    import importlib

    for module, attribute, _ in drive.WRAPPED:
        assert callable(getattr(importlib.import_module(module), attribute, None)), (
            f"bench/drive.py times {module}.{attribute}, which is gone: update WRAPPED"
        )
