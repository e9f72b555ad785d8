"""A real package index for rehearsals: pypiserver, behind a small front on the index's origin.

pypiserver stores and serves the files: it never lets a file be overwritten, as PyPI does not
(a second upload of a filename is answered 409), and serves ``#sha256=`` fragments on its PEP
503 pages. Uploads need the password of :attr:`~PackageIndexStandIn.username`.

The front adds what PyPI has and pypiserver lacks, on the same origin as the uploads, as
PyPI's documentation describes it:

- trusted publishing: ``/_/oidc/audience`` and ``/_/oidc/mint-token``
  (:class:`~release_engine.standins.oidc.TokenExchange`); a minted token, or the index's API
  token :attr:`~PackageIndexStandIn.api_token`, is accepted as the password of ``__token__``
  (any other ``__token__`` password is answered 403, PyPI's "Invalid or non-existent
  authentication information");
- a CDN's lag (:meth:`~PackageIndexStandIn.lag`): after an upload the simple pages served before
  it (a project's page without the new file, or a cached 404) are served again for a while.
"""

from __future__ import annotations

__all__ = ["PackageIndexStandIn"]

import base64
import contextlib
import http.client
import json
import re
import secrets
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# libpass, the maintained fork of passlib, keeps the import name and needs no crypt module
# (gone in Python 3.13); pypiserver reads the file with the same class.
from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]
from passlib.hash import sha256_crypt  # type: ignore[import-untyped]

from ..errors import StandInError
from ._server import ServerProcess, StandIn, answers
from .github_faults import Hold
from .oidc import TokenExchange

_Page = tuple[int, list[tuple[str, str]], bytes]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
_INVALID_AUTH = (
    "Invalid or non-existent authentication information. "
    "See https://pypi.org/help/#invalid-auth for more information."
)


class _PypiServer(ServerProcess):
    name = "pypiserver"

    def __init__(self, root: Path, htpasswd: Path, packages: Path) -> None:
        self._htpasswd, self._packages = htpasswd, packages
        super().__init__(root / "pypiserver.log")
        self._start()

    def _argv(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "pypiserver", "run",
            "--host", "127.0.0.1", "--port", str(port),
            "--hash-algo", "sha256",
            "--authenticate", "update", "--passwords", str(self._htpasswd),
            "--disable-fallback",
            "--health-endpoint", "/health",
            str(self._packages),
        ]  # fmt: skip

    def _ready(self) -> bool:
        return answers(f"http://127.0.0.1:{self.port}/health")


class PackageIndexStandIn(StandIn):
    """pypiserver serving ``root/packages`` behind the front on :attr:`port`."""

    def __init__(self, root: Path, *, username: str = "release-bot") -> None:
        self.root = Path(root)
        self.packages = self.root / "packages"
        self.packages.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.api_token = "pypi-" + secrets.token_urlsafe(48)
        self.exchange = TokenExchange()
        self.counts: Counter[tuple[str, str]] = Counter()  # (method, path) of every request
        self._lag = 0
        self._lag_left = 0
        self._pages: dict[str, _Page] = {}  # each simple page as last served fresh
        self.stored: Counter[str] = Counter()  # file name -> uploads pypiserver stored
        self.uploads = 0  # POSTs carrying a file, whatever the answer (not a login probe)
        self._upload_faults: list[tuple[int, bool]] = []  # (status, after storing)
        self._upload_holds: list[Hold] = []
        self._lock = threading.Lock()
        htpasswd = self.root / "htpasswd"
        passwords = HtpasswdFile(str(htpasswd), new=True)
        # sha256_crypt as htpasswd knows it, with 1,000 rounds instead of libpass's 535,000:
        # pypiserver checks the login of every upload (and the preflight's probe) with it, a
        # quarter of a second each at the default; the password itself is random and local.
        passwords.set_hash(username, sha256_crypt.using(rounds=1000).hash(self.password))
        passwords.save()
        self._backend = _PypiServer(self.root, htpasswd, self.packages)
        try:
            self._front = _Front(("127.0.0.1", 0), _Handler)
        except OSError as exc:
            self._backend.stop()
            raise StandInError(f"the package index could not listen on 127.0.0.1: {exc}") from exc
        self._front.index = self
        self.port: int = self._front.server_address[1]
        self._thread = threading.Thread(
            target=self._front.serve_forever, args=(0.05,), name="package-index", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The index root, e.g. ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def upload_url(self) -> str:
        """Where ``twine upload --repository-url`` sends files."""
        return self.url

    @property
    def simple_url(self) -> str:
        """The PEP 503 simple index: ``{simple_url}{project}/`` lists a project's files."""
        return f"{self.url}simple/"

    @property
    def running(self) -> bool:
        return self._backend.running and self._thread.is_alive()

    def log_text(self) -> str:
        """Everything pypiserver wrote so far."""
        return self._backend.log_text()

    def lag(self, requests: int) -> None:
        """After each upload from now on, answer the next *requests* simple-page requests with
        the page served before it, as a CDN does until its copy expires (a lag under way is
        cut to *requests* too)."""
        with self._lock:
            self._lag = requests
            self._lag_left = min(self._lag_left, requests)

    def fail_uploads(self, status: int = 503, *, times: int = 1, after: bool = False) -> None:
        """Answer the next *times* uploads of a file with *status*; with *after*, it is stored
        first, as when an index (or the proxy before it) fails once the upload was taken."""
        with self._lock:
            self._upload_faults.extend([(status, after)] * times)

    def hold_upload(self, *, after: bool = True) -> Hold:
        """Keep the next upload waiting (after storing it, with *after*) until the returned
        :class:`Hold` is released."""
        held = Hold(after=after)
        with self._lock:
            self._upload_holds.append(held)
        return held

    def count(self, method: str, path: str) -> int:
        """How many *method* requests for *path* the index answered."""
        with self._lock:
            return self.counts[(method, path)]

    def stop(self) -> None:
        """Stop the front and pypiserver (idempotent)."""
        if self._thread.is_alive():
            self._front.shutdown()
            self._thread.join(timeout=10)
        self._front.server_close()
        self._backend.stop()

    # --- what the front does with one request ---------------------------------------------
    def _login(self, authorization: str | None) -> tuple[str | None, bool]:
        """The Authorization header to send pypiserver, and whether a ``__token__`` password
        was refused. A good token becomes pypiserver's own login; others pass unchanged."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return authorization, False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return authorization, False
        if user != "__token__":
            return authorization, False
        good = secrets.compare_digest(password, self.api_token) or self.exchange.accepts(password)
        if not good:
            return None, True
        login = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {login}", False

    def _stale(self, path: str) -> _Page | None:
        with self._lock:
            if self._lag_left > 0 and path in self._pages:
                self._lag_left -= 1
                return self._pages[path]
        return None

    def _served(self, method: str, path: str, page: _Page) -> None:
        with self._lock:
            self.counts[(method, path)] += 1
            if method == "GET" and path.startswith("/simple/"):
                self._pages[path] = page

    def _uploaded(self, body: bytes = b"") -> None:
        name = re.search(rb'filename="([^"]+)"', body)
        with self._lock:
            self._lag_left = self._lag
            if name:
                self.stored[name.group(1).decode(errors="replace")] += 1

    def _counted_upload(self) -> None:
        with self._lock:
            self.uploads += 1

    def _upload_fault(self) -> tuple[tuple[int, bool] | None, Hold | None]:
        with self._lock:
            fault = self._upload_faults.pop(0) if self._upload_faults else None
            held = self._upload_holds.pop(0) if self._upload_holds else None
            return fault, held

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Page:
        connection = http.client.HTTPConnection("127.0.0.1", self._backend.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
            return response.status, kept, data
        finally:
            connection.close()


class _Front(ThreadingHTTPServer):
    daemon_threads = True
    index: PackageIndexStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Front

    def log_message(self, format: str, *args: Any) -> None:  # quiet: headers carry tokens
        pass

    def do_GET(self) -> None:
        self._relay("GET")

    def do_HEAD(self) -> None:
        self._relay("HEAD")

    def do_POST(self) -> None:
        self._relay("POST")

    def _relay(self, method: str) -> None:
        index = self.server.index
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        oidc = index.exchange.answer(method, self.path, body)
        if oidc is not None:
            status, answer = oidc
            index._served(method, self.path, (status, [], b""))
            as_json = [("Content-Type", "application/json")]
            self._send((status, as_json, json.dumps(answer).encode()))
            return
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in (*_HOP, "authorization")
        }
        authorization, refused = index._login(self.headers.get("Authorization"))
        if refused and method == "POST":
            index._served(method, self.path, (403, [], b""))
            text = [("Content-Type", "text/plain")]
            self._send((403, text, _INVALID_AUTH.encode()), _INVALID_AUTH)
            return
        if authorization is not None and not refused:
            headers["Authorization"] = authorization
        upload = method == "POST" and b"file_upload" in body
        carries_file = upload and b'filename="' in body  # not a probe of the credentials
        fault, held = index._upload_fault() if carries_file else (None, None)
        if carries_file:
            index._counted_upload()
        if held is not None and not held.after:
            held.wait()
        failed: _Page | None = None
        if fault is not None:
            failed = (fault[0], [("Content-Type", "text/plain")], b"Service Unavailable")
        if failed is not None and fault is not None and not fault[1]:  # refused, nothing stored
            index._served(method, self.path, failed)
            self._send(failed)
            return
        page = index._stale(self.path) if method == "GET" else None
        if page is None:
            page = index._forward(method, self.path, headers, body)
            if upload and page[0] < 300:
                index._uploaded(body)
        if held is not None and held.after:
            held.wait()
        if failed is not None:  # stored, and answered as a failure all the same
            page = failed
        index._served(method, self.path, page)
        with contextlib.suppress(OSError):  # the client may have gone while the answer was held
            self._send(page)

    def _send(self, page: _Page, reason: str | None = None) -> None:
        status, headers, data = page
        self.send_response(status, reason)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
