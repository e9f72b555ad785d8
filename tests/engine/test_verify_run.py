"""``inv release.verify``'s run of the published wheel (:func:`.verify_run.run_wheel`): a fresh
virtual environment, the engine's pip installing into it, nothing compiled ahead."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from release_engine.config import load_config
from release_engine.verify_run import run_wheel
from tests.conftest import REPO

pytestmark = pytest.mark.e2e  # pip resolves the payload's dependencies: seconds, not millis


def test_the_wheel_runs_in_a_venv_without_pip_and_compiles_only_what_it_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on CI's machines: overridden there
    config = load_config(REPO)
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "uv", "build", "--wheel", "--out-dir", str(dist), str(REPO)]
    subprocess.run(build, check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")

    assert run_wheel(wheel, config.package, config.current_version, tmp_path / "run") == []

    (site,) = (tmp_path / "run" / "venv" / "lib").glob("python*/site-packages")
    assert (site / "market_data_ingestion").is_dir()
    assert not (site / "pip").exists(), "the venv got a pip of its own"
    assert (site / "sqlalchemy" / "__pycache__").is_dir(), "imported, so written once"
    unused = site / "sqlalchemy" / "dialects" / "mssql"  # the payload never imports it
    assert unused.is_dir() and not (unused / "__pycache__").exists(), "compiled ahead"

    wrong = run_wheel(wheel, config.package, "99.0.0", tmp_path / "again")
    assert wrong and "--version printed" in wrong[0] and "not 99.0.0" in wrong[0]


def test_without_pip_beside_the_engine_the_wheel_is_not_run_and_that_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "pip" else real(n, *a)
    )
    wheel = tmp_path / "market_data_ingestion-1.0.0-py3-none-any.whl"
    problems = run_wheel(wheel, "market-data-ingestion", "1.0.0", tmp_path / "run")
    assert problems == [f"{wheel.name} was not run: no pip beside the engine ({sys.executable})"]
    assert not (tmp_path / "run").exists()  # nothing made
