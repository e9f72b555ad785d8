"""Helpers for the checks of an INSTALLED wheel: the console script as a subprocess, its server.

Named uniquely (not ``conftest``) so the test modules can import it by name.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import pytest

PACKAGE = "market-data-ingestion"
REPO = Path(__file__).resolve().parents[2]
EXPECTED_VERSION = os.environ.get("PRERELEASE_EXPECTED_VERSION", "")


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ market-data-ingestion {' '.join(self.args)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class Mdi:
    """The installed console script, run as a subprocess against one database."""

    db_path: Path
    env: dict[str, str] = field(default_factory=dict)
    exe: Path = Path(sysconfig.get_path("scripts")) / "market-data-ingestion"

    def __call__(self, *args: str, timeout: float = 120) -> Result:
        result = self.run(*args, timeout=timeout)
        assert "Traceback" not in result.stderr, f"the command crashed:\n{result}"
        return result

    def run(self, *args: str, timeout: float = 120) -> Result:
        """Run a command; no checks at all."""
        proc = subprocess.run(
            [str(self.exe), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.returncode == 0, f"the command failed:\n{result}"
        return result

    def fails(self, *args: str, code: int = 1) -> Result:
        """Run a command that must fail with *code* and one clear ``error:`` line."""
        result = self(*args)
        assert result.returncode == code, f"expected exit {code}:\n{result}"
        if code == 1:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (
                f"expected one 'error: ...' line on stderr:\n{result}"
            )
        return result


def mdi_env(db_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDI_")}
    env["MDI_DB_PATH"] = str(db_path)
    if database_url:
        env["MDI_DATABASE_URL"] = database_url
    return env


def write_csv(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    header = "symbol,timestamp,open,high,low,close,volume\n"
    path.write_text(header + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str) -> tuple[int, Any]:
    """Status and JSON body of GET *url* (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode(errors="replace")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]

    def get(self, path: str) -> tuple[int, Any]:
        status, body = http_get(self.url + path)
        assert status != 500, f"GET {path} answered 500: {body}"
        return status, body


class Servers:
    """Starts ``market-data-ingestion serve`` on free 127.0.0.1 ports; stops them all on close."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen[str]] = []
        self.files: list[IO[str]] = []

    def __call__(self, mdi: Mdi) -> Server:
        port = free_port()
        log = (self.logs / f"server-{port}.log").open("w+")
        self.files.append(log)
        proc = subprocess.Popen(
            [str(mdi.exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=mdi.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read()}")
            try:
                if http_get(url + "/version")[0] == 200:
                    return Server(url, proc)
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer on {url} within 60 s")

    def close(self) -> None:
        for proc in self.started:
            stop(proc)
        for log in self.files:
            log.close()


def stop(proc: subprocess.Popen[str]) -> int:
    """Stop the server (SIGTERM, then SIGKILL after 10 s); its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def sample_rows(mdi: Mdi) -> dict[str, list[dict[str, str]]]:
    """The shipped sample CSV, read with the csv module, rows grouped by symbol."""
    path = Path(mdi.ok("sample-path").stdout.strip())
    assert path.is_file(), f"sample-path printed {path}, which is not a file"
    grouped: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            grouped.setdefault(row["symbol"].strip().upper(), []).append(row)
    return grouped


def same_bar(row: Mapping[str, str], bar: Mapping[str, Any]) -> bool:
    """Whether an output bar holds the values of a CSV row."""

    def instant(text: str) -> datetime:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    return (
        instant(row["timestamp"]) == instant(str(bar["timestamp"]))
        and all(float(row[k]) == float(bar[k]) for k in ("open", "high", "low", "close"))
        and int(float(row["volume"])) == int(bar["volume"])
    )
