"""Test database migrations: empty -> head -> base -> head, one revision at a time.

On SQLite always; on PostgreSQL when ``MDI_TEST_POSTGRES_URL`` names a database (a throwaway
schema is made in it and dropped afterwards). With ``CI`` set, no PostgreSQL is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from mdi_helpers import Mdi, mdi_env

import market_data_ingestion

POSTGRES_ENV = "MDI_TEST_POSTGRES_URL"


def revisions() -> list[tuple[str, str | None]]:
    """(revision, down_revision) from base to head, as shipped in the installed package."""
    script = ScriptDirectory(str(Path(market_data_ingestion.__file__).parent / "migrations"))
    heads = script.get_heads()
    assert len(heads) == 1, f"the shipped migrations have {len(heads)} heads: {heads}"
    chain = [(str(r.revision), r.down_revision) for r in script.walk_revisions()]
    for rev, down in chain:
        assert down is None or isinstance(down, str), f"{rev} is a merge revision: {down}"
    return [(rev, str(down) if down else None) for rev, down in reversed(chain)]


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty schema in the database of $MDI_TEST_POSTGRES_URL, first on search_path.

    A schema, not a database: the role only needs to own its database (no CREATEDB).
    """
    server = os.environ.get(POSTGRES_ENV, "").strip()
    if not server:
        message = (
            f"{POSTGRES_ENV} is not set: start PostgreSQL and export e.g. "
            f"{POSTGRES_ENV}=postgresql+psycopg://mdi:mdi@127.0.0.1:5432/mdi_test"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {message}")
        pytest.skip(message)
    schema = f"mdi_prerelease_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    shown = sa.make_url(server).render_as_string(hide_password=True)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        pytest.fail(f"cannot use PostgreSQL at {POSTGRES_ENV}={shown}: {reason}")
    url = sa.make_url(server)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Mdi, str]:
    """The console script on an empty database of each backend, and that database's URL."""
    if request.param == "sqlite":
        db_path = tmp_path / "migrations.sqlite3"
        url = sa.URL.create("sqlite+pysqlite", database=str(db_path)).render_as_string()
    else:
        db_path = tmp_path / "unused.sqlite3"
        url = request.getfixturevalue("postgres_url")
    return Mdi(db_path, mdi_env(db_path, url)), url


def current(mdi: Mdi) -> str:
    return mdi.ok("db", "current").stdout.strip()


def test_empty_head_base_head(database: tuple[Mdi, str]) -> None:
    mdi, url = database
    chain = revisions()
    assert len(chain) >= 2, "expected at least two shipped migrations"
    assert current(mdi) == "none" and tables(url) <= {"alembic_version"}

    for rev, down in chain:  # up, one revision at a time
        result = mdi.run("db", "upgrade", "--revision", rev)
        assert result.returncode == 0, f"upgrade {down or 'base'} -> {rev} failed:\n{result}"
        assert "Traceback" not in result.stderr, f"upgrade to {rev} crashed:\n{result}"
        assert current(mdi) == rev
    head = chain[-1][0]
    assert "already" in mdi.ok("db", "upgrade").stdout
    assert {"instruments", "bars", "alembic_version"} <= tables(url)
    mdi.ok("ingest", "--sample")  # downgrade with data in the tables, as in real life

    for rev, down in reversed(chain):  # down, one revision at a time
        result = mdi.run("db", "downgrade")
        assert result.returncode == 0, f"downgrade {rev} -> {down or 'base'} failed:\n{result}"
        assert "Traceback" not in result.stderr, f"downgrade from {rev} crashed:\n{result}"
        assert current(mdi) == (down or "none"), f"downgrade from {rev} did not reach {down}"
    assert tables(url) <= {"alembic_version"}, f"tables left at base: {tables(url)}"

    mdi.ok("db", "upgrade")
    assert current(mdi) == head
    mdi.ok("ingest", "--sample")
    assert mdi.ok("symbols").stdout.strip()
    mdi.ok("db", "downgrade", "--revision", "base")
    assert current(mdi) == "none"
    mdi.ok("db", "upgrade")
    assert current(mdi) == head
