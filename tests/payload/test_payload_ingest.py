"""Malformed input: every kind is rejected with its line number and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from market_data_ingestion.models import Bar, Instrument

Run = Callable[..., Any]

GOOD = "ACME,2024-01-02T21:00:00Z,10,11,9,10.5,100"
GOOD2 = "GLOBEX,2024-01-02T21:00:00Z,5,6,4,5.5,50"


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        instruments = connection.scalar(select(func.count()).select_from(Instrument))
        bars = connection.scalar(select(func.count()).select_from(Bar))
    return int(instruments or 0), int(bars or 0)


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("ACME,2024-01-03T21:00:00Z,ten,11,9,10.5,100", "open is not a number: 'ten'"),
        ("ACME,2024-01-03T21:00:00Z,10,11,9,10.5", "expected 7 fields, got 6"),
        ("ACME,2024-01-03T21:00:00Z,10,11,9,10.5,100,7", "expected 7 fields, got 8"),
        ("ACME,2024-01-03T21:00:00Z,10,,9,10.5,100", "missing value for high"),
        (",2024-01-03T21:00:00Z,10,11,9,10.5,100", "missing value for symbol"),
        ("ACME,2024-13-03T21:00:00Z,10,11,9,10.5,100", "invalid ISO 8601 timestamp"),
        ("ACME,03/01/2024,10,11,9,10.5,100", "invalid ISO 8601 timestamp '03/01/2024'"),
        ("ACME,2024-01-03T21:00:00Z,10,9,11,10.5,100", "high 9 is below low 11"),
        ("ACME,2024-01-03T21:00:00Z,10,11,9,10.5,-5", "volume must not be negative, got -5"),
        ("ACME,2024-01-03T21:00:00Z,10,11,9,10.5,1.5", "volume is not a whole number: '1.5'"),
        ("ACME,2024-01-03T21:00:00Z,12,11,9,10.5,100", "open 12 is outside the low-high range"),
        ("ACME,2024-01-03T21:00:00Z,10,11,9,8,100", "close 8 is outside the low-high range"),
        ("ACME,2024-01-03T21:00:00Z,nan,11,9,10.5,100", "open is not a number: 'nan'"),
        ("ACME,2024-01-03T21:00:00Z,-1,11,-2,10.5,100", "open must not be negative, got -1"),
        ("AC ME,2024-01-03T21:00:00Z,10,11,9,10.5,100", "invalid symbol 'AC ME'"),
        (GOOD, "duplicate bar for ACME at 2024-01-02T21:00:00Z (first on line 2)"),
    ],
)
def test_malformed_row_is_reported_and_nothing_is_written(
    run: Run,
    write_csv: Callable[..., Path],
    engine: Engine,
    bad_row: str,
    message: str,
) -> None:
    path = write_csv(GOOD, GOOD2, bad_row, GOOD.replace("01-02", "01-05"))
    result = run("ingest", str(path))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"error: {path}:4: ")
    assert message in result.err
    assert result.err.count("\n") == 1
    assert _counts(engine) == (0, 0)


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize(
    "header",
    [
        "symbol,timestamp,open,high,low,close",
        "symbol,time,open,high,low,close,volume",
        "timestamp,symbol,open,high,low,close,volume",
        "",
    ],
)
def test_wrong_header_is_line_1(
    run: Run, write_csv: Callable[..., Path], engine: Engine, header: str
) -> None:
    path = write_csv(GOOD, header=header)
    result = run("ingest", str(path))
    assert result.code == 1
    assert result.err.startswith(f"error: {path}:1: expected header ")
    assert _counts(engine) == (0, 0)


@pytest.mark.usefixtures("migrated")
def test_empty_file(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = run("ingest", str(path))
    assert result.code == 1
    assert result.err.startswith(f"error: {path}:1: file is empty")


@pytest.mark.usefixtures("migrated")
def test_bad_row_after_blank_lines_keeps_the_physical_line_number(
    run: Run, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(GOOD, "", "", "ACME,2024-01-03,10,11,9,10.5,x")
    result = run("ingest", str(path))
    assert result.err == f"error: {path}:5: volume is not a number: 'x'\n"


@pytest.mark.usefixtures("migrated")
def test_failed_file_leaves_earlier_data_alone(
    run: Run, write_csv: Callable[..., Path], engine: Engine
) -> None:
    good = write_csv(GOOD, name="good.csv")
    assert run("ingest", str(good)).code == 0
    bad = write_csv(GOOD2, "GLOBEX,2024-01-03T21:00:00Z,5,6,4,5.5,", name="bad.csv")
    assert run("ingest", str(bad)).code == 1
    assert _counts(engine) == (1, 1)
    assert run("symbols").out == "ACME 1\n"


def test_missing_file(run: Run, tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "nope.csv"
    result = run("ingest", str(path))
    assert (result.code, result.out, result.err) == (1, "", f"error: {path}: no such file\n")
    assert not db_path.exists()


def test_unreadable_inputs(run: Run, tmp_path: Path) -> None:
    assert run("ingest", str(tmp_path)).err == f"error: {tmp_path}: is a directory\n"
    binary = tmp_path / "latin1.csv"
    binary.write_bytes("symbol\xe9".encode("latin-1"))
    result = run("ingest", str(binary))
    assert result.code == 1
    assert result.err.startswith(f"error: {binary}: not UTF-8 text")


@pytest.mark.usefixtures("migrated")
def test_bom_crlf_quotes_and_whitespace_are_accepted(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "windows.csv"
    path.write_bytes(
        b"\xef\xbb\xbfsymbol,timestamp,open,high,low,close,volume\r\n"
        b'"ACME", 2024-01-02 21:00:00 ,10,11,9,10.5,100\r\n'
    )
    result = run("ingest", str(path))
    assert result.code == 0, result.err
    assert run("bars", "ACME").out == "2024-01-02T21:00:00Z 10.0 11.0 9.0 10.5 100\n"
