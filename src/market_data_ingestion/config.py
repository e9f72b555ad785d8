"""Where the database lives: ``MDI_DATABASE_URL``, else ``MDI_DB_PATH``, else a default file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL

__all__ = ["APP_DIR_NAME", "DB_FILE_NAME", "database_url", "default_db_path"]

APP_DIR_NAME = "market-data-ingestion"
DB_FILE_NAME = "market_data.sqlite3"


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` (or ``~/.local/share``) ``/market-data-ingestion/market_data.sqlite3``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIR_NAME / DB_FILE_NAME


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL to use, resolved from the environment."""
    env = os.environ if environ is None else environ
    url = env.get("MDI_DATABASE_URL", "").strip()
    if url:
        return url
    raw_path = env.get("MDI_DB_PATH", "").strip()
    path = Path(raw_path).expanduser() if raw_path else default_db_path(env)
    return URL.create("sqlite+pysqlite", database=str(path.absolute())).render_as_string()
