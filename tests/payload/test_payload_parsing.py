"""Timestamp parsing and the sample data set."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from market_data_ingestion.parsing import format_timestamp, parse_bars, parse_timestamp
from market_data_ingestion.sample import sample_resource

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", dt.datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T21:00", dt.datetime(2024, 1, 2, 21, tzinfo=UTC)),
        ("2024-01-02T21:00:05Z", dt.datetime(2024, 1, 2, 21, 0, 5, tzinfo=UTC)),
        ("2024-01-02 21:00:05.25z", dt.datetime(2024, 1, 2, 21, 0, 5, 250000, tzinfo=UTC)),
        ("2024-01-02T21:00:00+00:00", dt.datetime(2024, 1, 2, 21, tzinfo=UTC)),
        ("2024-01-02T22:30:00+0130", dt.datetime(2024, 1, 2, 21, tzinfo=UTC)),
        ("2024-01-02T16:00:00-05", dt.datetime(2024, 1, 2, 21, tzinfo=UTC)),
        ("2024-01-02T21:00:00.123456789Z", dt.datetime(2024, 1, 2, 21, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: dt.datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "now",
        "2024-1-2",
        "2024-02-30",
        "2024-01-02T25:00",
        "2024-01-02T21:00+24:00",
        "2024-01-02Z",
        "2024-01-02T21:00:00+01:60",
        "20240102T210000Z",
    ],
)
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_timestamp() -> None:
    value = dt.datetime(2024, 1, 2, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_timestamp(value) == "2024-01-02T21:00:00Z"


def test_sample_data_is_valid_and_plausible() -> None:
    text = sample_resource().read_text(encoding="utf-8")
    records = parse_bars(io.StringIO(text, newline=""))
    assert len(records) == 300
    assert {record.symbol for record in records} == {"ACME", "GLOBEX", "INITECH"}
    for record in records:
        assert 0 < record.low <= min(record.open, record.close)
        assert max(record.open, record.close) <= record.high
        assert record.volume > 0
