"""Resolution of the database URL from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from market_data_ingestion.config import database_url, default_db_path
from market_data_ingestion.db import make_engine


def test_database_url_wins() -> None:
    env = {"MDI_DATABASE_URL": "postgresql+psycopg://u:p@h/db", "MDI_DB_PATH": "/x.db"}
    assert database_url(env) == "postgresql+psycopg://u:p@h/db"


@pytest.mark.parametrize("url", ["postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"])
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    pytest.importorskip("psycopg", reason="market-data-ingestion[postgresql] is not installed")
    engine = make_engine(url)  # no connection is made
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_db_path(tmp_path: Path) -> None:
    url = make_url(database_url({"MDI_DB_PATH": str(tmp_path / "a.sqlite3")}))
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "a.sqlite3")


def test_default_path_uses_xdg_data_home(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    expected = tmp_path / "market-data-ingestion" / "market_data.sqlite3"
    assert default_db_path(env) == expected
    assert make_url(database_url(env)).database == str(expected)


def test_default_path_without_xdg() -> None:
    expected = Path.home() / ".local/share/market-data-ingestion/market_data.sqlite3"
    assert default_db_path({}) == expected
    assert default_db_path({"XDG_DATA_HOME": "relative/ignored"}) == expected


def test_make_engine_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "db.sqlite3"
    engine = make_engine(database_url({"XDG_DATA_HOME": "", "MDI_DB_PATH": str(path)}))
    try:
        assert path.parent.is_dir()
    finally:
        engine.dispose()
