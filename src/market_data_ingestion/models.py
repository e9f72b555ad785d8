"""ORM models. The schema itself is owned by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, MetaData, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["SYMBOL_PATTERN", "Bar", "Base", "Instrument", "UTCDateTime", "normalize_symbol"]

#: Upper-case tickers such as ``ACME``, ``BRK.B`` or ``BTC-USD``.
SYMBOL_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def normalize_symbol(raw: str) -> str | None:
    """The canonical (upper-case) symbol, or ``None`` when ``raw`` is not a valid symbol."""
    symbol = raw.strip().upper()
    return symbol if SYMBOL_PATTERN.fullmatch(symbol) else None


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a UTC-aware datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Instrument(Base):
    """A traded symbol."""

    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)


class Bar(Base):
    """One OHLCV bar of an instrument at a UTC timestamp."""

    __tablename__ = "bars"
    __table_args__ = (UniqueConstraint("instrument_id", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    open: Mapped[float] = mapped_column(Float(53))
    high: Mapped[float] = mapped_column(Float(53))
    low: Mapped[float] = mapped_column(Float(53))
    close: Mapped[float] = mapped_column(Float(53))
    volume: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(String(255))
