"""Migrations up, down and up again on SQLite, and on PostgreSQL when one is reachable."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from market_data_ingestion import db
from market_data_ingestion.models import Base
from market_data_ingestion.parsing import BarRecord
from market_data_ingestion.store import get_bars, ingest_records, list_symbols

UTC = dt.timezone.utc


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _bar_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("bars")}


def _round_trip(engine: Engine) -> None:
    assert db.current_revision(engine) is None
    assert _tables(engine) == set()

    assert db.upgrade(engine, "0001") == "0001"
    assert _tables(engine) == {"instruments", "bars"}
    assert "source" not in _bar_columns(engine)

    assert db.upgrade(engine) == "0002"
    assert "source" in _bar_columns(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    # Data survives a downgrade and upgrade of 0002 (SQLite recreates the table).
    bar = BarRecord(2, "ACME", dt.datetime(2024, 1, 2, 21, tzinfo=UTC), 10, 11, 9, 10.5, 100)
    assert ingest_records(engine, [bar], source="t.csv").new == 1
    assert db.downgrade(engine) == "0001"
    assert "source" not in _bar_columns(engine)
    unique = {tuple(c["column_names"]) for c in inspect(engine).get_unique_constraints("bars")}
    assert ("instrument_id", "ts") in unique
    assert db.upgrade(engine) == "0002"
    [stored] = get_bars(engine, "ACME")
    assert (stored.timestamp, stored.close, stored.volume, stored.source) == (
        bar.timestamp,
        10.5,
        100,
        None,
    )
    assert [s.bars for s in list_symbols(engine)] == [1]

    assert db.downgrade(engine, "base") is None
    assert _tables(engine) == set()
    assert db.upgrade(engine) == db.head_revision() == "0002"
    assert _tables(engine) == {"instruments", "bars"}


def test_sqlite_up_down_up(engine: Engine) -> None:
    _round_trip(engine)


def test_head_revision_and_require_schema(engine: Engine) -> None:
    with pytest.raises(db.SchemaNotReadyError, match="not migrated"):
        db.require_schema(engine)
    db.upgrade(engine)
    db.require_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(db.SchemaNotReadyError, match="ffff, which this version does not know"):
        db.require_schema(engine)


def test_migrations_ship_inside_the_package() -> None:
    assert (db.MIGRATIONS_DIR / "env.py").is_file()
    assert (db.MIGRATIONS_DIR / "script.py.mako").is_file()
    assert db.alembic_config().get_main_option("script_location") == str(db.MIGRATIONS_DIR)


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An engine on a throwaway schema of ``$MDI_TEST_POSTGRES_URL``; skipped without one."""
    url = os.environ.get("MDI_TEST_POSTGRES_URL", "").strip()
    missing = pytest.fail if os.environ.get("CI") else pytest.skip  # CI never skips this
    if not url:
        missing("MDI_TEST_POSTGRES_URL is not set")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg (3) is not installed: install market-data-ingestion[postgresql]")
    schema = f"mdi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the environment
        admin.dispose()
        missing(f"PostgreSQL at MDI_TEST_POSTGRES_URL is not usable: {exc}")
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_postgresql_up_down_up(postgres_engine: Engine) -> None:
    _round_trip(postgres_engine)
