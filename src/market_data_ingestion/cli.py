"""The ``market-data-ingestion`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from market_data_ingestion import __version__, db
from market_data_ingestion.models import normalize_symbol
from market_data_ingestion.parsing import BarsFileError, format_timestamp, parse_bars
from market_data_ingestion.parsing import parse_timestamp as _parse_timestamp
from market_data_ingestion.sample import sample_path
from market_data_ingestion.store import (
    UnknownSymbolError,
    get_bars,
    ingest_records,
    list_symbols,
)

__all__ = ["PROG", "CommandFailedError", "build_parser", "main"]

PROG = "market-data-ingestion"


class CommandFailedError(Exception):
    """A command failed in an expected way; the message is shown as ``error: ...``."""


def _timestamp(text: str) -> dt.datetime:
    try:
        return _parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _with_engine(
    run: Callable[[argparse.Namespace, Engine], int],
) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        engine = db.make_engine()
        try:
            return run(args, engine)
        finally:
            engine.dispose()

    return wrapper


def _db_upgrade(args: argparse.Namespace, engine: Engine) -> int:
    before = db.current_revision(engine)
    after = db.upgrade(engine, args.revision)
    if before == after:
        print(f"database is already at {after or 'none'}")
    else:
        print(f"upgraded database from {before or 'none'} to {after or 'none'}")
    return 0


def _db_downgrade(args: argparse.Namespace, engine: Engine) -> int:
    before = db.current_revision(engine)
    if before is None and args.revision == "-1":
        raise CommandFailedError("nothing to downgrade: the database is not migrated")
    after = db.downgrade(engine, args.revision)
    if before == after:
        print(f"database is already at {after or 'none'}")
    else:
        print(f"downgraded database from {before or 'none'} to {after or 'none'}")
    return 0


def _db_current(_args: argparse.Namespace, engine: Engine) -> int:
    print(db.current_revision(engine) or "none")
    return 0


def _read_bars_file(path: Path, shown: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CommandFailedError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise CommandFailedError(f"{shown}: is a directory") from None
    except PermissionError:
        raise CommandFailedError(f"{shown}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise CommandFailedError(f"{shown}: not UTF-8 text ({exc.reason})") from None


def _ingest(args: argparse.Namespace) -> int:
    if args.sample == (args.path is not None):
        raise CommandFailedError("give either PATH or --sample")
    path = sample_path() if args.sample else Path(args.path)
    shown = str(path) if args.sample else args.path
    text = _read_bars_file(path, shown)
    try:
        records = parse_bars(io.StringIO(text, newline=""))
    except BarsFileError as exc:
        raise CommandFailedError(f"{shown}:{exc.line}: {exc.message}") from None
    engine = db.make_engine()
    try:
        db.require_schema(engine)
        result = ingest_records(engine, records, source=path.name)
    finally:
        engine.dispose()
    print(f"ingested {result.total} bars from {shown} ({result.new} new, {result.updated} updated)")
    return 0


def _symbols(_args: argparse.Namespace, engine: Engine) -> int:
    db.require_schema(engine)
    for summary in list_symbols(engine):
        print(f"{summary.symbol} {summary.bars}")
    return 0


def _bars(args: argparse.Namespace, engine: Engine) -> int:
    if args.start and args.end and args.start > args.end:
        raise CommandFailedError("--start is after --end")
    db.require_schema(engine)
    symbol = normalize_symbol(args.symbol)
    try:
        if symbol is None:
            raise UnknownSymbolError(args.symbol)
        bars = get_bars(engine, symbol, args.start, args.end)
    except UnknownSymbolError:
        raise CommandFailedError(f"unknown symbol {args.symbol!r}") from None
    if args.json:
        print(json.dumps([bar.to_dict() for bar in bars], indent=2))
        return 0
    for bar in bars:
        print(
            f"{format_timestamp(bar.timestamp)} {bar.open!r} {bar.high!r} {bar.low!r}"
            f" {bar.close!r} {bar.volume}"
        )
    return 0


def _serve(args: argparse.Namespace, engine: Engine) -> int:
    import uvicorn

    from market_data_ingestion.api import create_app

    try:
        db.require_schema(engine)
    except db.SchemaNotReadyError as exc:
        print(f"warning: {exc}; /health answers 503 until then", file=sys.stderr)
    except SQLAlchemyError as exc:
        print(f"warning: database unavailable: {_one_line(exc)}", file=sys.stderr)
    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def _sample_path(_args: argparse.Namespace) -> int:
    print(sample_path())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each sub-command stores its handler in ``func``."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Ingest OHLCV market data bars and serve them over HTTP."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db_parser = commands.add_parser("db", help="manage the database schema")
    db_commands = db_parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_commands.add_parser("upgrade", help="migrate up (default: to the newest revision)")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=_with_engine(_db_upgrade))
    down = db_commands.add_parser("downgrade", help="migrate down (default: one revision)")
    down.add_argument("--revision", default="-1", help="target revision, -1 or base")
    down.set_defaults(func=_with_engine(_db_downgrade))
    current = db_commands.add_parser("current", help="print the current revision or 'none'")
    current.set_defaults(func=_with_engine(_db_current))

    ingest = commands.add_parser("ingest", help="load a CSV file of OHLCV bars")
    ingest.add_argument("path", nargs="?", metavar="PATH", help="CSV file to load")
    ingest.add_argument("--sample", action="store_true", help="load the shipped sample data")
    ingest.set_defaults(func=_ingest)

    symbols = commands.add_parser("symbols", help="list symbols with their bar counts")
    symbols.set_defaults(func=_with_engine(_symbols))

    bars = commands.add_parser("bars", help="print the bars of a symbol")
    bars.add_argument("symbol", metavar="SYMBOL")
    bars.add_argument("--start", type=_timestamp, help="first timestamp (ISO 8601)")
    bars.add_argument("--end", type=_timestamp, help="last timestamp (ISO 8601)")
    bars.add_argument("--json", action="store_true", help="print a JSON list")
    bars.set_defaults(func=_with_engine(_bars))

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.set_defaults(func=_with_engine(_serve))

    sample = commands.add_parser("sample-path", help="print the path of the sample CSV")
    sample.set_defaults(func=_sample_path)
    return parser


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of raising ``SystemExit``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --version, --help and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        status: int = args.func(args)
    except (CommandFailedError, db.SchemaNotReadyError) as exc:
        message = str(exc)
    except (CommandError, RevisionError) as exc:
        message = f"migration failed: {_one_line(exc)}"
    except (OperationalError, InterfaceError) as exc:
        message = f"database unavailable: {_one_line(exc.orig)}"
    except SQLAlchemyError as exc:
        message = f"database error: {_one_line(exc)}"
    except ImportError as exc:  # e.g. psycopg for a postgresql:// URL
        message = f"database driver missing: {exc} (for PostgreSQL: pip install {PROG}[postgresql])"
    else:
        return status
    print("error: " + " ".join(message.splitlines()), file=sys.stderr)
    return 1
