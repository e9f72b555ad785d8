"""The engine's HTTP outside GitHub (:mod:`release_engine.remotes.web`, over urllib3) against
real local servers: redirects followed as requests followed them, a login sent to its origin
only, failures in words; and a dry run observing every stand-in without loading requests."""

from __future__ import annotations

import base64
import errno
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from urllib3.exceptions import NewConnectionError

from release_engine.netcause import cause, timed_out
from release_engine.rehearsal import clone_for_rehearsal, stand_ins
from release_engine.remotes import web
from release_engine.remotes.github.remote import seed_green
from release_engine.remotes.index.serving import socket_reason
from tests.engine.conftest import VERSION, standin_settings
from tests.engine.test_release_checks import tcp_server

SECRET = "s3cret-pass"
BASIC = "Basic " + base64.b64encode(f"me:{SECRET}".encode()).decode()


class Server:
    """A local server answering each path with (status, headers, body); it notes each request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                server.seen.append({"method": self.command, "path": self.path, "body": body,
                                    "auth": self.headers.get("Authorization")})  # fmt: skip
                status, headers, reply = server.routes.get(self.path, (404, {}, b"no"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply)

            do_GET = do_POST = do_HEAD = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def to(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = (status, {"Location": location}, b"")


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    """An origin, and another one (another port: another origin)."""
    started = (Server(), Server())
    yield started
    for server in started:
        server.httpd.shutdown()
        server.httpd.server_close()


def test_the_login_goes_to_its_origin_only_on_every_hop(servers: tuple[Server, Server]) -> None:
    home, away = servers
    home.to("/a", f"{away.url}/b")
    away.to("/b", f"{home.url}/c", 307)
    latin = {"Content-Type": "text/plain; charset=latin-1"}
    home.routes["/c"] = (200, latin, "café".encode("latin-1"))
    login = f"http://me:{SECRET}@{home.url.removeprefix('http://')}/a"
    answer = web.fetch("GET", login, timeout=5)
    assert (answer.status_code, answer.text, answer.url) == (200, "café", f"{home.url}/c")
    assert [(s["path"], s["auth"]) for s in home.seen + away.seen] == [
        ("/a", BASIC), ("/c", BASIC), ("/b", None)
    ]  # fmt: skip
    home.seen.clear()
    web.fetch("GET", f"{away.url}/b", auth=("me", SECRET), auth_origin=home.url, timeout=5)
    assert [s["auth"] for s in home.seen] == [BASIC]  # the file host elsewhere had none


def test_redirects_as_requests_followed_them(servers: tuple[Server, Server]) -> None:
    home, _ = servers
    home.to("/post", "/landed")
    home.routes["/landed"] = (200, {}, b'{"ok": true}')
    answer = web.fetch("POST", f"{home.url}/post", data={"a": "1 2"}, timeout=5)
    assert answer.json() == {"ok": True}
    assert [(s["method"], s["body"]) for s in home.seen] == [("POST", b"a=1+2"), ("GET", b"")]
    home.seen.clear()
    assert (
        web.fetch("POST", f"{home.url}/post", json={}, timeout=5, follow=False).status_code == 302
    )
    assert [s["path"] for s in home.seen] == ["/post"]  # not followed
    home.to("/loop", "/loop")
    with pytest.raises(web.TooManyRedirects, match="Exceeded 30 redirects"):
        web.fetch("HEAD", f"{home.url}/loop", timeout=5)
    with pytest.raises(web.Failure) as ftp:
        web.fetch("GET", "ftp://127.0.0.1/simple/", timeout=5)
    assert isinstance(ftp.value, ValueError)  # a URL it cannot use: the index says so


def test_what_reaches_nobody_is_named() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(web.Failure) as refused:
        web.fetch("GET", f"http://127.0.0.1:{port}/", timeout=5)
    assert cause(refused.value).startswith("connection refused")
    assert socket_reason(refused.value) == "Connection refused"
    assert not timed_out(refused.value)  # urllib3 counts it a connect timeout by class
    with tcp_server(b"") as silent, pytest.raises(web.Failure) as slow:
        web.fetch("GET", f"http://127.0.0.1:{silent}/", timeout=0.3)
    assert timed_out(slow.value) and cause(slow.value) == "timeout: no answer in time"
    plain = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    with tcp_server(plain) as port, pytest.raises(web.Failure) as tls:
        web.fetch("GET", f"https://127.0.0.1:{port}/", timeout=5)
    assert cause(tls.value).startswith("TLS: ")
    unroutable = NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    unroutable.__cause__ = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert cause(unroutable) == "Network is unreachable"  # not a timeout


@pytest.mark.e2e
def inv_loads(work: Path, env: dict[str, str], *argv: str) -> tuple[dict[str, Any], bool]:
    """Run ``inv ARGV`` in a process of its own: its JSON report, and whether it loaded
    requests (said at the process's exit)."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', 'requests' in sys.modules, file=sys.stderr))\n"
        "from invoke.main import program\n"
        f"program.run({['inv', *argv]!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LOADED " in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout), "LOADED True" in proc.stderr


@pytest.mark.e2e
def test_a_dry_run_and_the_status_observing_every_remote_load_no_requests(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    """``inv release --dry-run`` asks every reach probe (the index's login, the webhooks of
    Slack, Teams and Discord, Mastodon's login) and reads the index's pages; the status reads."""
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        seed_green(s.github, work)
        env, flags = standin_settings(s)
        env |= {"RELEASE_TEAMS_WEBHOOKS": s.teams.url, "RELEASE_DISCORD_WEBHOOKS": s.discord.url,
                "MASTODON_ACCESS_TOKEN": s.mastodon.token}  # fmt: skip
        flags += ["--set", f"mastodon_url={s.mastodon.url}"]
        dry = ["release", "--version", VERSION, "--dry-run", "--json", *flags, "--skip-prerelease"]
        report, loaded = inv_loads(work, env, *dry)
        assert report["ok"] is True and report["dry_run"] is True, report
        assert not loaded
        report, loaded = inv_loads(
            work, env, "release.status", "--version", VERSION, "--json", *flags
        )
        assert report["ok"] is True and report["steps"], report
        assert not loaded
