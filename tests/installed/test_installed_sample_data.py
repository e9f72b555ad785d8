"""Test with sample data: the shipped sample ingested, read back through the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import Callable

from mdi_helpers import Mdi, Server, same_bar, sample_rows


def test_sample_through_cli_and_api(migrated: Mdi, serve: Callable[[Mdi], Server]) -> None:
    expected = sample_rows(migrated)
    total = sum(len(rows) for rows in expected.values())
    assert expected and total > 0, "the shipped sample is empty"

    out = migrated.ok("ingest", "--sample").stdout
    assert out.startswith(f"ingested {total} bars from "), out

    listed = dict(line.split() for line in migrated.ok("symbols").stdout.splitlines())
    assert {s: int(n) for s, n in listed.items()} == {s: len(r) for s, r in expected.items()}

    server = serve(migrated)
    status, symbols = server.get("/symbols")
    assert status == 200
    assert {s["symbol"]: s["bars"] for s in symbols} == {s: len(r) for s, r in expected.items()}

    for symbol, rows in expected.items():
        rows = sorted(rows, key=lambda r: r["timestamp"])
        from_cli = json.loads(migrated.ok("bars", symbol, "--json").stdout)
        status, from_api = server.get(f"/bars/{symbol}")
        assert status == 200
        assert from_cli == from_api, f"{symbol}: the CLI and the API disagree"
        assert len(from_api) == len(rows)
        for row, bar in zip(rows, from_api, strict=True):
            assert same_bar(row, bar), f"{symbol}: CSV row {row} came back as {bar}"
        summary = next(s for s in symbols if s["symbol"] == symbol)
        assert (summary["first"], summary["last"]) == (
            from_api[0]["timestamp"],
            from_api[-1]["timestamp"],
        )


def test_sample_ingested_twice_changes_nothing(migrated: Mdi) -> None:
    migrated.ok("ingest", "--sample")
    before = migrated.ok("symbols").stdout
    bars = {
        line.split()[0]: migrated.ok("bars", line.split()[0], "--json").stdout
        for line in before.splitlines()
    }
    migrated.ok("ingest", "--sample")
    assert migrated.ok("symbols").stdout == before
    for symbol, out in bars.items():
        assert migrated.ok("bars", symbol, "--json").stdout == out
