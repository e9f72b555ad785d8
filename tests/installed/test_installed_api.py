"""Test API endpoints: the installed wheel's server as a process on a free 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mdi_helpers import EXPECTED_VERSION, Mdi, Server, Servers, http_get, mdi_env, stop, write_csv

ROWS = [
    ("ACME", "2024-01-02T21:00:00Z", 10.5, 11.0, 10.0, 10.75, 1000),
    ("ACME", "2024-01-03T21:00:00Z", 10.75, 12.0, 10.5, 11.5, 2000),
    ("GLOBEX", "2024-01-02T21:00:00Z", 50.0, 51.0, 49.0, 50.5, 300),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the read-only checks, on a migrated database holding ROWS."""
    tmp = tmp_path_factory.mktemp("api")
    mdi = Mdi(tmp / "api.sqlite3", mdi_env(tmp / "api.sqlite3"))
    mdi.ok("db", "upgrade")
    mdi.ok("ingest", str(write_csv(tmp / "bars.csv", ROWS)))
    servers = Servers(tmp)
    yield servers(mdi)
    servers.close()


def test_health_and_version(server: Server) -> None:
    status, body = server.get("/health")
    assert (status, body.get("status")) == (200, "ok"), body
    assert server.get("/version") == (200, {"version": EXPECTED_VERSION})


def test_symbols(server: Server) -> None:
    status, body = server.get("/symbols")
    assert status == 200
    assert [(s["symbol"], s["bars"]) for s in body] == [("ACME", 2), ("GLOBEX", 1)]
    acme = body[0]
    assert (acme["first"], acme["last"]) == ("2024-01-02T21:00:00Z", "2024-01-03T21:00:00Z")


def test_bars(server: Server) -> None:
    status, body = server.get("/bars/ACME")
    assert status == 200
    assert [(b["timestamp"], b["open"], b["close"], b["volume"]) for b in body] == [
        ("2024-01-02T21:00:00Z", 10.5, 10.75, 1000),
        ("2024-01-03T21:00:00Z", 10.75, 11.5, 2000),
    ]
    status, body = server.get("/bars/acme?start=2024-01-03T00:00:00Z&end=2024-01-04")
    assert status == 200 and [b["timestamp"] for b in body] == ["2024-01-03T21:00:00Z"]


def test_unknown_symbol_is_404(server: Server) -> None:
    assert server.get("/bars/NOPE")[0] == 404


@pytest.mark.parametrize(
    "query", ["?start=yesterday", "?end=2024-13-45", "?start=2024-02-01&end=2024-01-01"]
)
def test_bad_parameters_are_422(server: Server, query: str) -> None:
    status, body = server.get(f"/bars/ACME{query}")
    assert status == 422, body


def test_invalid_symbol_is_422(server: Server) -> None:
    assert server.get("/bars/no%20such%20thing!")[0] == 422


def test_unknown_path_is_404(server: Server) -> None:
    assert server.get("/no-such-endpoint")[0] == 404


def test_health_is_503_before_migrating(mdi: Mdi, serve: Callable[[Mdi], Server]) -> None:
    server = serve(mdi)
    status, body = server.get("/health")
    assert status == 503, body
    assert server.get("/version")[0] == 200


def test_server_stops(migrated: Mdi, serve: Callable[[Mdi], Server]) -> None:
    server = serve(migrated)
    assert server.get("/health")[0] == 200
    assert stop(server.proc) is not None
    with pytest.raises(OSError):
        http_get(server.url + "/health")
