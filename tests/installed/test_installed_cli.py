"""Test CLI commands: every console command of the installed wheel, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mdi_helpers import EXPECTED_VERSION, PACKAGE, REPO, Mdi, write_csv

ROWS = [
    ("ACME", "2024-01-02T21:00:00Z", 10.5, 11.0, 10.0, 10.75, 1000),
    ("ACME", "2024-01-03T21:00:00Z", 10.75, 12.0, 10.5, 11.5, 2000),
    ("ACME", "2024-01-04T21:00:00Z", 11.5, 11.75, 11.0, 11.25, 1500),
    ("GLOBEX", "2024-01-02T21:00:00Z", 50.0, 51.0, 49.0, 50.5, 300),
]


def test_the_wheel_ships_the_licence() -> None:
    """PEP 639: the SPDX expression in the metadata, LICENSE under .dist-info/licenses/."""
    dist = metadata.distribution(PACKAGE)
    assert dist.metadata["License-Expression"] == "MIT"
    assert dist.metadata.get_all("License-File") == ["LICENSE"]
    shipped = [f for f in dist.files or [] if f.parts[-2:] == ("licenses", "LICENSE")]
    assert shipped, f"no licenses/LICENSE in {PACKAGE}'s RECORD"
    assert shipped[0].read_text() == (REPO / "LICENSE").read_text()


def test_version(mdi: Mdi) -> None:
    assert mdi.ok("--version").stdout.strip() == f"market-data-ingestion {EXPECTED_VERSION}"


def test_python_dash_m(mdi: Mdi) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "market_data_ingestion", "--version"],
        env=mdi.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"market-data-ingestion {EXPECTED_VERSION}"


def test_help_lists_every_command(mdi: Mdi) -> None:
    out = mdi.ok("--help").stdout
    for command in ("db", "ingest", "symbols", "bars", "serve", "sample-path"):
        assert command in out, f"--help does not mention {command}:\n{out}"


def test_usage_errors_exit_2(mdi: Mdi) -> None:
    assert "usage:" in mdi.fails(code=2).stderr
    assert "usage:" in mdi.fails("no-such-command", code=2).stderr
    mdi.fails("bars", "ACME", "--start", "not-a-date", code=2)


def test_db_upgrade_downgrade_current(mdi: Mdi) -> None:
    assert mdi.ok("db", "current").stdout.strip() == "none"
    assert mdi.ok("db", "upgrade").returncode == 0
    head = mdi.ok("db", "current").stdout.strip()
    assert head and head != "none"
    assert "already" in mdi.ok("db", "upgrade").stdout
    mdi.ok("db", "downgrade")
    below = mdi.ok("db", "current").stdout.strip()
    assert below != head, "db downgrade (default -1) did not move the revision"
    mdi.ok("db", "upgrade", "--revision", head)
    assert mdi.ok("db", "current").stdout.strip() == head
    mdi.ok("db", "downgrade", "--revision", "base")
    assert mdi.ok("db", "current").stdout.strip() == "none"
    mdi.fails("db", "upgrade", "--revision", "no-such-revision")


def test_commands_before_migrating_say_what_to_do(mdi: Mdi) -> None:
    assert "db upgrade" in mdi.fails("symbols").stderr


def test_ingest_symbols_bars(migrated: Mdi, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "bars.csv", ROWS)
    out = migrated.ok("ingest", str(csv)).stdout
    assert out.startswith(f"ingested 4 bars from {csv}"), out
    assert migrated.ok("symbols").stdout.split("\n")[:2] == ["ACME 3", "GLOBEX 1"]

    lines = migrated.ok("bars", "ACME").stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("2024-01-02T21:00:00Z"), lines
    bars = json.loads(migrated.ok("bars", "acme", "--json").stdout)
    assert [b["close"] for b in bars] == [10.75, 11.5, 11.25]
    assert bars[1]["volume"] == 2000 and bars[1]["symbol"] == "ACME"
    window = json.loads(
        migrated.ok(
            "bars", "ACME", "--json", "--start", "2024-01-03", "--end", "2024-01-03T23:59:59Z"
        ).stdout
    )
    assert [b["timestamp"] for b in window] == ["2024-01-03T21:00:00Z"]
    assert "unknown symbol" in migrated.fails("bars", "NOPE").stderr
    migrated.fails("bars", "ACME", "--start", "2024-02-01", "--end", "2024-01-01")

    again = migrated.ok("ingest", str(csv)).stdout
    assert again.startswith("ingested 4 bars"), again
    assert migrated.ok("symbols").stdout.split("\n")[:2] == ["ACME 3", "GLOBEX 1"]


def test_ingest_sample_and_sample_path(migrated: Mdi) -> None:
    path = Path(migrated.ok("sample-path").stdout.strip())
    assert path.is_file() and path.suffix == ".csv"
    assert migrated.ok("ingest", "--sample").stdout.startswith("ingested ")
    assert migrated.ok("symbols").stdout.strip()


def test_missing_file_is_one_line_and_writes_nothing(migrated: Mdi, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = migrated.fails("ingest", str(missing))
    assert result.stderr.strip() == f"error: {missing}: no such file"
    assert migrated.ok("symbols").stdout.strip() == ""


def test_malformed_row_is_one_line_and_writes_nothing(migrated: Mdi, tmp_path: Path) -> None:
    rows = [ROWS[0], ("ACME", "2024-01-03T21:00:00Z", "ten", 12.0, 10.5, 11.5, 2000)]
    csv = write_csv(tmp_path / "bad.csv", rows)
    result = migrated.fails("ingest", str(csv))
    assert result.stderr.startswith(f"error: {csv}:3: "), result
    assert migrated.ok("symbols").stdout.strip() == "", "a rejected file wrote bars"


def test_bad_header_and_empty_file(migrated: Mdi, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("ticker,when,o,h,l,c,v\nACME,2024-01-02,1,1,1,1,1\n")
    assert migrated.fails("ingest", str(wrong)).stderr.startswith(f"error: {wrong}:")
    migrated.fails("ingest")  # neither PATH nor --sample
    assert migrated.ok("symbols").stdout.strip() == ""
