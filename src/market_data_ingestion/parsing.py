"""Strict parsing and validation of OHLCV CSV files and ISO 8601 timestamps."""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from market_data_ingestion.models import normalize_symbol

__all__ = [
    "HEADER",
    "BarRecord",
    "BarsFileError",
    "format_timestamp",
    "parse_bars",
    "parse_timestamp",
]

HEADER = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
PRICE_FIELDS = ("open", "high", "low", "close")

_ISO_RE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WHOLE_RE = re.compile(r"[+-]?\d+(?:\.0*)?")


def parse_timestamp(text: str) -> dt.datetime:
    """Parse ISO 8601 (``2024-01-02``, ``2024-01-02T21:00:00Z``, ``...+01:00``) to aware UTC.

    A timestamp without an offset is taken to be UTC. The same inputs are accepted on every
    supported Python version (``datetime.fromisoformat`` grew more lenient in 3.11).
    """
    match = _ISO_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid ISO 8601 timestamp {text!r}")
    part = match.groupdict()
    tz = dt.timezone.utc
    if part["tz"] and part["tz"].upper() != "Z":
        digits = part["tz"][1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset >= dt.timedelta(hours=24) or int(digits[2:] or 0) >= 60:
            raise ValueError(f"invalid UTC offset in {text!r}")
        tz = dt.timezone(-offset if part["tz"][0] == "-" else offset)
    try:
        value = dt.datetime(
            int(part["y"]),
            int(part["mo"]),
            int(part["d"]),
            int(part["h"] or 0),
            int(part["mi"] or 0),
            int(part["s"] or 0),
            int((part["frac"] or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"invalid ISO 8601 timestamp {text!r}: {exc}") from None
    return value.astimezone(dt.timezone.utc)


def format_timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, e.g. ``2024-01-02T21:00:00Z``."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class BarRecord:
    """A validated bar from a CSV file, with the line it came from."""

    line: int
    symbol: str
    timestamp: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


class BarsFileError(ValueError):
    """A CSV file is malformed; ``line`` is 1-based and counts the header."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def _price(name: str, raw: str) -> float:
    if not _NUMBER_RE.fullmatch(raw):
        raise ValueError(f"{name} is not a number: {raw!r}")
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"{name} is out of range: {raw!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw}")
    return value


def _volume(raw: str) -> int:
    if not _WHOLE_RE.fullmatch(raw):
        kind = "a whole number" if _NUMBER_RE.fullmatch(raw) else "a number"
        raise ValueError(f"volume is not {kind}: {raw!r}")
    value = int(raw.split(".")[0])
    if value < 0:
        raise ValueError(f"volume must not be negative, got {raw}")
    return value


def _record(line: int, row: list[str]) -> BarRecord:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields, got {len(row)}")
    fields = dict(zip(HEADER, (value.strip() for value in row), strict=True))
    for name in HEADER:
        if not fields[name]:
            raise ValueError(f"missing value for {name}")
    symbol = normalize_symbol(fields["symbol"])
    if symbol is None:
        raise ValueError(f"invalid symbol {fields['symbol']!r}")
    timestamp = parse_timestamp(fields["timestamp"])
    o, h, lo, c = (_price(name, fields[name]) for name in PRICE_FIELDS)
    if h < lo:
        raise ValueError(f"high {fields['high']} is below low {fields['low']}")
    for name, value in (("open", o), ("close", c)):
        if not lo <= value <= h:
            raise ValueError(
                f"{name} {fields[name]} is outside the low-high range "
                f"{fields['low']}-{fields['high']}"
            )
    return BarRecord(line, symbol, timestamp, o, h, lo, c, _volume(fields["volume"]))


def parse_bars(lines: Iterable[str]) -> list[BarRecord]:
    """Validate a whole CSV document; raise :class:`BarsFileError` at the first bad line."""
    reader = csv.reader(lines, strict=True)
    seen: dict[tuple[str, dt.datetime], int] = {}
    records: list[BarRecord] = []
    try:
        header = next(reader, None)
        if header is None:
            raise BarsFileError(1, f"file is empty; expected header {','.join(HEADER)!r}")
        if tuple(name.strip() for name in header) != HEADER:
            raise BarsFileError(
                1, f"expected header {','.join(HEADER)!r}, got {','.join(header)!r}"
            )
        for row in reader:
            if not any(value.strip() for value in row):
                continue  # blank line
            try:
                record = _record(reader.line_num, row)
            except ValueError as exc:
                raise BarsFileError(reader.line_num, str(exc)) from None
            key = (record.symbol, record.timestamp)
            if key in seen:
                raise BarsFileError(
                    record.line,
                    f"duplicate bar for {record.symbol} at {format_timestamp(record.timestamp)}"
                    f" (first on line {seen[key]})",
                )
            seen[key] = record.line
            records.append(record)
    except csv.Error as exc:
        raise BarsFileError(reader.line_num or 1, f"malformed CSV: {exc}") from None
    return records
