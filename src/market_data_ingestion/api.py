"""The HTTP API: health, version, symbols and bars."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from market_data_ingestion import __version__, db
from market_data_ingestion.models import normalize_symbol
from market_data_ingestion.parsing import parse_timestamp
from market_data_ingestion.store import UnknownSymbolError, get_bars, list_symbols

__all__ = ["app", "create_app"]


class _LazyEngine:
    """Creates the engine on first use, so building the app touches no database."""

    def __init__(self, url: str | None) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = db.make_engine(self._url)
            return self._engine

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _ready(engines: _LazyEngine) -> Engine:
    """The engine, or a 503 when the database is unreachable or not migrated."""
    try:
        engine = engines.get()
        db.require_schema(engine)
    except db.SchemaNotReadyError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    except SQLAlchemyError:
        raise HTTPException(status_code=503, detail="database unavailable") from None
    return engine


def _query_time(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"{name}: {exc}") from None


def create_app(database_url: str | None = None) -> FastAPI:
    """A new application; ``database_url`` defaults to the environment's (see ``config``)."""
    engines = _LazyEngine(database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engines.dispose()

    app = FastAPI(title="Market Data Ingestion", version=__version__, lifespan=lifespan)

    @app.get("/health")
    def health() -> JSONResponse:
        """200 when the database is reachable and migrated to this version's head, else 503."""
        try:
            db.require_schema(engines.get())
        except db.SchemaNotReadyError as exc:
            body = {"status": "error", "database": "not migrated", "detail": str(exc)}
            return JSONResponse(body, status_code=503)
        except SQLAlchemyError:
            body = {"status": "error", "database": "unavailable"}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/version")
    def version() -> dict[str, str]:
        """The installed package version."""
        return {"version": __version__}

    @app.get("/symbols")
    def symbols() -> list[dict[str, Any]]:
        """Every symbol with its bar count and first/last timestamps."""
        return [summary.to_dict() for summary in list_symbols(_ready(engines))]

    @app.get("/bars/{symbol}")
    def bars(
        symbol: str,
        start: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
        end: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
    ) -> list[dict[str, Any]]:
        """The bars of ``symbol`` between ``start`` and ``end``, oldest first."""
        canonical = normalize_symbol(symbol)
        if canonical is None:
            raise HTTPException(status_code=422, detail=f"invalid symbol {symbol!r}")
        first, last = _query_time("start", start), _query_time("end", end)
        if first is not None and last is not None and first > last:
            raise HTTPException(status_code=422, detail="start is after end")
        try:
            found = get_bars(_ready(engines), canonical, first, last)
        except UnknownSymbolError:
            raise HTTPException(status_code=404, detail=f"unknown symbol {symbol!r}") from None
        return [bar.to_dict() for bar in found]

    return app


app = create_app()
