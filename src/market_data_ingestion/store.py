"""Reading and writing bars: one transaction per ingested file, upsert on symbol+timestamp."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from market_data_ingestion.models import Bar, Instrument
from market_data_ingestion.parsing import BarRecord, format_timestamp

__all__ = [
    "BarView",
    "IngestResult",
    "SymbolSummary",
    "UnknownSymbolError",
    "get_bars",
    "ingest_records",
    "list_symbols",
]


class UnknownSymbolError(LookupError):
    """No instrument with this symbol has been ingested."""

    def __init__(self, symbol: str) -> None:
        super().__init__(f"unknown symbol {symbol!r}")
        self.symbol = symbol


@dataclass(frozen=True)
class IngestResult:
    """How many bars a file had, how many were new and how many replaced stored ones."""

    total: int
    new: int
    updated: int


@dataclass(frozen=True)
class SymbolSummary:
    """A symbol with its bar count and time range."""

    symbol: str
    bars: int
    first: dt.datetime | None
    last: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "bars": self.bars,
            "first": format_timestamp(self.first) if self.first else None,
            "last": format_timestamp(self.last) if self.last else None,
        }


@dataclass(frozen=True)
class BarView:
    """A stored bar, ready for output."""

    symbol: str
    timestamp: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timestamp": format_timestamp(self.timestamp),
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "source": self.source,
        }


def _instrument_ids(session: Session, symbols: set[str]) -> dict[str, int]:
    rows = session.execute(
        select(Instrument.symbol, Instrument.id).where(Instrument.symbol.in_(sorted(symbols)))
    )
    ids = {symbol: ident for symbol, ident in rows}
    for symbol in sorted(symbols - ids.keys()):
        instrument = Instrument(symbol=symbol)
        session.add(instrument)
        session.flush()
        ids[symbol] = instrument.id
    return ids


def ingest_records(engine: Engine, records: Sequence[BarRecord], source: str) -> IngestResult:
    """Store validated bars in one transaction; bars already stored are overwritten."""
    by_symbol: dict[str, list[BarRecord]] = defaultdict(list)
    for record in records:
        by_symbol[record.symbol].append(record)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    with Session(engine) as session, session.begin():
        ids = _instrument_ids(session, set(by_symbol))
        for symbol, group in by_symbol.items():
            stamps = [record.timestamp for record in group]
            stored = session.execute(
                select(Bar.ts, Bar.id).where(
                    Bar.instrument_id == ids[symbol], Bar.ts.between(min(stamps), max(stamps))
                )
            )
            existing = {ts: ident for ts, ident in stored}
            for record in group:
                values = {
                    "ts": record.timestamp,
                    "open": record.open,
                    "high": record.high,
                    "low": record.low,
                    "close": record.close,
                    "volume": record.volume,
                    "source": source[:255],
                }
                if record.timestamp in existing:
                    updates.append({"id": existing[record.timestamp], **values})
                else:
                    inserts.append({"instrument_id": ids[symbol], **values})
        if inserts:
            session.execute(insert(Bar), inserts)
        if updates:
            session.execute(update(Bar), updates)
    return IngestResult(total=len(records), new=len(inserts), updated=len(updates))


def list_symbols(engine: Engine) -> list[SymbolSummary]:
    """Every symbol with its bar count, alphabetically."""
    query = (
        select(Instrument.symbol, func.count(Bar.id), func.min(Bar.ts), func.max(Bar.ts))
        .outerjoin(Bar, Bar.instrument_id == Instrument.id)
        .group_by(Instrument.symbol)
        .order_by(Instrument.symbol)
    )
    with Session(engine) as session:
        return [SymbolSummary(*row) for row in session.execute(query)]


def get_bars(
    engine: Engine,
    symbol: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[BarView]:
    """Bars of ``symbol`` with ``start <= timestamp <= end``, oldest first."""
    with Session(engine) as session:
        ident = session.scalar(select(Instrument.id).where(Instrument.symbol == symbol))
        if ident is None:
            raise UnknownSymbolError(symbol)
        query = select(Bar).where(Bar.instrument_id == ident).order_by(Bar.ts)
        if start is not None:
            query = query.where(Bar.ts >= start)
        if end is not None:
            query = query.where(Bar.ts <= end)
        return [
            BarView(symbol, b.ts, b.open, b.high, b.low, b.close, b.volume, b.source)
            for b in session.scalars(query)
        ]
