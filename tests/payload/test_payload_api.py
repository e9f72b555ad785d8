"""Every HTTP endpoint through FastAPI's TestClient, including the 404/422/503 paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import market_data_ingestion
from market_data_ingestion.api import create_app

Run = Callable[..., Any]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def loaded(run: Run, migrated: None) -> None:
    assert run("ingest", "--sample").code == 0


def test_version(client: TestClient) -> None:
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {"version": market_data_ingestion.__version__}


def test_health_not_migrated_then_ok(client: TestClient, run: Run) -> None:
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"
    assert "market-data-ingestion db upgrade" in response.json()["detail"]
    assert run("db", "upgrade").code == 0
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})
    assert run("db", "downgrade").code == 0
    assert client.get("/health").json()["database"] == "not migrated"


def test_health_database_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with TestClient(create_app(f"sqlite:///{blocker}/sub/db.sqlite3")) as client:
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "error", "database": "unavailable"}
        assert client.get("/symbols").status_code == 503


def test_data_endpoints_need_the_schema(client: TestClient) -> None:
    for url in ("/symbols", "/bars/ACME"):
        response = client.get(url)
        assert response.status_code == 503
        assert "market-data-ingestion db upgrade" in response.json()["detail"]


@pytest.mark.usefixtures("migrated")
def test_symbols_empty(client: TestClient) -> None:
    assert client.get("/symbols").json() == []


@pytest.mark.usefixtures("loaded")
def test_symbols(client: TestClient) -> None:
    response = client.get("/symbols")
    assert response.status_code == 200
    body = response.json()
    assert [(item["symbol"], item["bars"]) for item in body] == [
        ("ACME", 100),
        ("GLOBEX", 100),
        ("INITECH", 100),
    ]
    assert body[0]["first"] == "2024-01-02T21:00:00Z"
    assert body[0]["last"] == "2024-05-20T21:00:00Z"


@pytest.mark.usefixtures("loaded")
def test_bars(client: TestClient) -> None:
    response = client.get("/bars/ACME")
    assert response.status_code == 200
    bars = response.json()
    assert len(bars) == 100
    stamps = [bar["timestamp"] for bar in bars]
    assert stamps == sorted(stamps)
    assert set(bars[0]) == {
        "symbol",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "source",
    }
    assert bars[0]["symbol"] == "ACME"
    assert bars[0]["source"] == "sample_bars.csv"

    window = client.get(
        "/bars/acme", params={"start": "2024-05-16T21:00:00Z", "end": "2024-05-17"}
    ).json()
    assert [bar["timestamp"] for bar in window] == ["2024-05-16T21:00:00Z"]
    assert client.get("/bars/ACME", params={"start": "2030-01-01"}).json() == []
    assert len(client.get("/bars/GLOBEX", params={"end": "2024-01-03T21:00:00Z"}).json()) == 2


@pytest.mark.usefixtures("loaded")
def test_bars_unknown_symbol_is_404(client: TestClient) -> None:
    response = client.get("/bars/NOPE")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown symbol 'NOPE'"}


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("url", "params", "detail"),
    [
        ("/bars/ACME", {"start": "yesterday"}, "start: invalid ISO 8601 timestamp 'yesterday'"),
        ("/bars/ACME", {"end": "2024-02-30"}, "end: invalid ISO 8601 timestamp"),
        ("/bars/ACME", {"start": "2024-02-01", "end": "2024-01-01"}, "start is after end"),
        ("/bars/AC$ME", {}, "invalid symbol 'AC$ME'"),
        ("/bars/" + "A" * 33, {}, "invalid symbol"),
    ],
)
def test_bars_bad_parameters_are_422(
    client: TestClient, url: str, params: dict[str, str], detail: str
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422
    assert detail in response.json()["detail"]


def test_module_level_app_exists() -> None:
    from market_data_ingestion.api import app

    assert app.title == "Market Data Ingestion"
    assert {"/health", "/version", "/symbols", "/bars/{symbol}"} <= {
        getattr(route, "path", "") for route in app.routes
    }
