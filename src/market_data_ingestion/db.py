"""Engines and schema management: Alembic driven in code, migrations shipped in the package."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from market_data_ingestion.config import database_url

__all__ = [
    "MIGRATIONS_DIR",
    "POSTGRESQL_DRIVER",
    "UPGRADE_HINT",
    "SchemaNotReadyError",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "require_schema",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = "run `market-data-ingestion db upgrade`"
POSTGRESQL_DRIVER = "postgresql+psycopg"  # psycopg 3: market-data-ingestion[postgresql]


class SchemaNotReadyError(RuntimeError):
    """The database has not been migrated to the revision this version of the code needs."""


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: from the environment); creates a SQLite file's folder.

    A ``postgresql://`` URL that names no driver uses psycopg 3, the driver the ``postgresql``
    extra installs (SQLAlchemy before 2.1 would pick psycopg2 for it).
    """
    parsed = make_url(url or database_url())
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=POSTGRESQL_DRIVER)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    db_file = parsed.database or ""
    if is_sqlite and db_file and db_file != ":memory:" and not db_file.startswith("file:"):
        with contextlib.suppress(OSError):  # if this fails, connecting reports why
            Path(db_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def alembic_config() -> Config:
    """An Alembic configuration built in code: no ``alembic.ini`` is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision shipped with this version of the package."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations are shipped with this package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run(engine: Engine, action: str, revision: str) -> str | None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    return current_revision(engine)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate up to ``revision``; returns the revision the database is now at."""
    return _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "-1") -> str | None:
    """Migrate down to ``revision`` (``-1``, an id or ``base``); returns the new revision."""
    return _run(engine, "downgrade", revision)


def require_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotReadyError` unless the database is at this package's head."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaNotReadyError(f"the database is not migrated; {UPGRADE_HINT}")
    known = {rev.revision for rev in _script().walk_revisions()}
    if current not in known:
        raise SchemaNotReadyError(
            f"the database is at revision {current}, which this version does not know;"
            " install a newer market-data-ingestion"
        )
    raise SchemaNotReadyError(
        f"the database schema is at revision {current} but {head} is needed; {UPGRADE_HINT}"
    )
