"""Every CLI command, run in-process through ``main(argv)`` against a real SQLite file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import market_data_ingestion
from market_data_ingestion.sample import sample_path

REPO = Path(__file__).resolve().parents[2]

Run = Callable[..., Any]
UPGRADE_HINT = "run `market-data-ingestion db upgrade`"


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.code == 0
    assert result.out == f"market-data-ingestion {market_data_ingestion.__version__}\n"
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"$', pyproject, flags=re.MULTILINE)
    assert declared is not None and market_data_ingestion.__version__ == declared[1]


def test_no_command_is_a_usage_error(run: Run) -> None:
    result = run()
    assert result.code == 2
    assert "usage:" in result.err


def test_sample_path_points_at_the_shipped_csv(run: Run) -> None:
    result = run("sample-path")
    assert result.code == 0
    path = Path(result.out.strip())
    assert path == sample_path()
    assert path.is_file()
    assert path.read_text(encoding="utf-8").startswith(
        "symbol,timestamp,open,high,low,close,volume"
    )


def test_db_current_upgrade_downgrade(run: Run, db_path: Path) -> None:
    assert run("db", "current").out == "none\n"
    result = run("db", "upgrade")
    assert (result.code, result.out) == (0, "upgraded database from none to 0002\n")
    assert db_path.is_file()
    assert run("db", "current").out == "0002\n"
    assert run("db", "upgrade").out == "database is already at 0002\n"
    result = run("db", "downgrade")
    assert (result.code, result.out) == (0, "downgraded database from 0002 to 0001\n")
    assert run("db", "current").out == "0001\n"
    assert run("db", "downgrade", "--revision", "base").code == 0
    assert run("db", "current").out == "none\n"
    assert run("db", "upgrade", "--revision", "0001").out == (
        "upgraded database from none to 0001\n"
    )
    assert run("db", "upgrade", "--revision", "head").code == 0
    assert run("db", "current").out == "0002\n"


def test_downgrade_of_an_empty_database_fails_cleanly(run: Run) -> None:
    result = run("db", "downgrade")
    assert result.code == 1
    assert result.err == "error: nothing to downgrade: the database is not migrated\n"


def test_unknown_revision_fails_cleanly(run: Run) -> None:
    result = run("db", "upgrade", "--revision", "9999")
    assert result.code == 1
    assert result.err.startswith("error: migration failed: ")
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "argv",
    [("symbols",), ("bars", "ACME"), ("ingest", "--sample")],
    ids=["symbols", "bars", "ingest"],
)
def test_commands_needing_the_schema_say_to_upgrade(run: Run, argv: tuple[str, ...]) -> None:
    result = run(*argv)
    assert result.code == 1
    assert result.out == ""
    assert result.err == f"error: the database is not migrated; {UPGRADE_HINT}\n"


def test_outdated_schema_says_to_upgrade(run: Run) -> None:
    assert run("db", "upgrade", "--revision", "0001").code == 0
    result = run("symbols")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "revision 0001 but 0002 is needed" in result.err
    assert UPGRADE_HINT in result.err


@pytest.mark.usefixtures("migrated")
def test_ingest_sample_then_symbols(run: Run) -> None:
    assert run("symbols").out == ""
    result = run("ingest", "--sample")
    assert result.code == 0, result.err
    assert result.out == f"ingested 300 bars from {sample_path()} (300 new, 0 updated)\n"
    result = run("symbols")
    assert (result.code, result.out) == (0, "ACME 100\nGLOBEX 100\nINITECH 100\n")


@pytest.mark.usefixtures("migrated")
def test_reingesting_does_not_duplicate(run: Run, write_csv: Callable[..., Path]) -> None:
    first = write_csv(
        "ACME,2024-01-02T21:00:00Z,10,11,9,10.5,100",
        "ACME,2024-01-03T21:00:00Z,10.5,12,10,11.5,200",
        name="first.csv",
    )
    assert run("ingest", str(first)).out == f"ingested 2 bars from {first} (2 new, 0 updated)\n"
    assert run("ingest", str(first)).out == f"ingested 2 bars from {first} (0 new, 2 updated)\n"
    second = write_csv(
        "ACME,2024-01-03T21:00:00Z,10.5,12,10,11.75,250",
        "acme,2024-01-04T22:00:00+01:00,11.75,12.5,11,12,300",
        name="second.csv",
    )
    assert run("ingest", str(second)).out == (f"ingested 2 bars from {second} (1 new, 1 updated)\n")
    assert run("symbols").out == "ACME 3\n"
    bars = json.loads(run("bars", "ACME", "--json").out)
    assert [bar["timestamp"] for bar in bars] == [
        "2024-01-02T21:00:00Z",
        "2024-01-03T21:00:00Z",
        "2024-01-04T21:00:00Z",
    ]
    assert bars[1]["close"] == 11.75
    assert bars[1]["volume"] == 250
    assert [bar["source"] for bar in bars] == ["first.csv", "second.csv", "second.csv"]


@pytest.mark.usefixtures("migrated")
def test_bars_text_and_json(run: Run, write_csv: Callable[..., Path]) -> None:
    path = write_csv(
        "ACME,2024-01-03T21:00:00Z,10.5,12,10,11.5,200",
        "ACME,2024-01-02T21:00:00Z,10,11,9,10.5,100",
        "GLOBEX,2024-01-02T21:00:00Z,5,6,4,5.5,50",
    )
    assert run("ingest", str(path)).code == 0
    result = run("bars", "ACME")
    assert result.code == 0
    assert result.out == (
        "2024-01-02T21:00:00Z 10.0 11.0 9.0 10.5 100\n"
        "2024-01-03T21:00:00Z 10.5 12.0 10.0 11.5 200\n"
    )
    result = run("bars", "ACME", "--json", "--start", "2024-01-03")
    assert result.code == 0
    assert json.loads(result.out) == [
        {
            "symbol": "ACME",
            "timestamp": "2024-01-03T21:00:00Z",
            "open": 10.5,
            "high": 12.0,
            "low": 10.0,
            "close": 11.5,
            "volume": 200,
            "source": "bars.csv",
        }
    ]
    window = run(
        "bars", "ACME", "--json", "--start", "2024-01-02T21:00:00Z", "--end", "2024-01-02T21:00:00Z"
    )
    assert [bar["timestamp"] for bar in json.loads(window.out)] == ["2024-01-02T21:00:00Z"]
    assert json.loads(run("bars", "ACME", "--json", "--start", "2025-01-01").out) == []
    assert run("bars", "acme").out == run("bars", "ACME").out


@pytest.mark.usefixtures("migrated")
def test_bars_errors(run: Run) -> None:
    assert run("ingest", "--sample").code == 0
    result = run("bars", "NOPE")
    assert (result.code, result.out, result.err) == (1, "", "error: unknown symbol 'NOPE'\n")
    result = run("bars", "ACME", "--start", "2024-02-01", "--end", "2024-01-01")
    assert (result.code, result.err) == (1, "error: --start is after --end\n")
    result = run("bars", "ACME", "--start", "yesterday")
    assert result.code == 2
    assert "invalid ISO 8601 timestamp 'yesterday'" in result.err


def test_ingest_needs_exactly_one_source(run: Run, write_csv: Callable[..., Path]) -> None:
    assert run("ingest").err == "error: give either PATH or --sample\n"
    path = write_csv()
    assert run("ingest", str(path), "--sample").code == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuchdialect://x/y", "error: database error: "),
        ("sqlite:///{tmp}/not-a-dir/x/db.sqlite3", "error: database unavailable: "),
    ],
)
def test_bad_database_url_is_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, expected: str
) -> None:
    (tmp_path / "not-a-dir").write_text("", encoding="utf-8")
    monkeypatch.setenv("MDI_DATABASE_URL", url.format(tmp=tmp_path))
    result = run("symbols")
    assert result.code == 1
    assert result.err.startswith(expected)
    assert result.err.count("\n") == 1
