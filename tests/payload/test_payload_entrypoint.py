"""The real entry point in a subprocess: ``python -m market_data_ingestion``, and ``serve``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import market_data_ingestion


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "market_data_ingestion", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_module_entry_point_end_to_end(db_path: Path) -> None:
    version = _cli("--version")
    assert (version.returncode, version.stdout) == (
        0,
        f"market-data-ingestion {market_data_ingestion.__version__}\n",
    )
    unmigrated = _cli("symbols")
    assert unmigrated.returncode == 1
    assert unmigrated.stderr.strip().endswith("run `market-data-ingestion db upgrade`")
    assert "Traceback" not in unmigrated.stderr
    assert _cli("db", "upgrade").returncode == 0
    assert _cli("db", "current").stdout == "0002\n"
    ingest = _cli("ingest", "--sample")
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("ingested 300 bars from ")
    assert _cli("symbols").stdout == "ACME 100\nGLOBEX 100\nINITECH 100\n"
    bars = json.loads(_cli("bars", "INITECH", "--json", "--end", "2024-01-02T21:00:00Z").stdout)
    assert [bar["timestamp"] for bar in bars] == ["2024-01-02T21:00:00Z"]
    unknown = _cli("bars", "NOPE")
    assert (unknown.returncode, unknown.stderr) == (1, "error: unknown symbol 'NOPE'\n")
    assert db_path.is_file()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_answers_health(tmp_path: Path) -> None:
    assert _cli("db", "upgrade").returncode == 0
    port = _free_port()
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "market_data_ingestion", "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=dict(os.environ),
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.2)
        assert (status, body) == (200, {"status": "ok", "database": "ok"})
        assert _get(f"http://127.0.0.1:{port}/version")[1] == {
            "version": market_data_ingestion.__version__
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
