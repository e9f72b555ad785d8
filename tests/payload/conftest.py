"""Fixtures for the payload tests: a real SQLite database in ``tmp_path`` per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from market_data_ingestion import db
from market_data_ingestion.cli import main

HEADER = "symbol,timestamp,open,high,low,close,volume"


@dataclass(frozen=True)
class Result:
    """What one in-process CLI run returned and printed."""

    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the package at a fresh SQLite file; never at the user's own data."""
    path = tmp_path / "data" / "mdi.sqlite3"
    monkeypatch.delenv("MDI_DATABASE_URL", raising=False)
    monkeypatch.setenv("MDI_DB_PATH", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Call ``main(argv)`` in-process and capture its output."""

    def _run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    """An engine on the test database (not migrated)."""
    eng = db.make_engine()
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(run: Run) -> None:
    """The test database, migrated to head."""
    assert run("db", "upgrade").code == 0


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write CSV rows (header added unless ``header`` is given) to a file and return it."""

    def _write(*rows: str, header: str | None = HEADER, name: str = "bars.csv") -> Path:
        path = tmp_path / name
        lines = ([header] if header is not None else []) + list(rows)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    return _write
