"""A registry that sends blob downloads elsewhere, as registries backed by a CDN or S3 do.

:class:`RedirectingRegistry` listens on one 127.0.0.1 port and passes every request through to
a :class:`~release_engine.standins.registry.RegistryStandIn`, untouched (``Host`` included, so
the registry's own ``Location`` headers point back at the proxy) with one exception: a blob
``GET`` the registry would answer ``200`` is answered ``307 Temporary Redirect`` to a second
listener on another port, :attr:`RedirectingRegistry.blob_url`, with a signed, short-lived
URL, the way Docker Hub redirects to its CDN and a registry on S3 to a pre-signed URL. That
listener serves the blob from the registry's storage directory to anyone with a valid
signature and records, for each request, whether an ``Authorization`` header came with it: a
client must not hand the registry's token to another host.

Why hand-written: the standard library's HTTP server and client are the whole of it; a
reverse proxy package would hide the one rule (which request is redirected) this stand-in is
for, and none offers the blob host.
"""

from __future__ import annotations

__all__ = ["BlobRequest", "RedirectingRegistry"]

import hashlib
import hmac
import http.client
import re
import secrets
import shutil
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..errors import StandInError
from ._server import StandIn
from .registry import RegistryStandIn

_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_URL_LIFETIME = 300
_CHUNK = 1 << 16


@dataclass(frozen=True)
class BlobRequest:
    """One request to the blob host: its digest, status, and whether it carried credentials."""

    digest: str
    status: int
    authorization: bool


class RedirectingRegistry(StandIn):
    """*registry* behind a proxy on :attr:`url` that redirects blob reads to :attr:`blob_url`.

    Started on construction; :meth:`stop` ends both listeners (not the registry).
    """

    def __init__(self, registry: RegistryStandIn) -> None:
        self.registry = registry
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._blob_requests: list[BlobRequest] = []
        self.redirects = 0  #: blob GETs answered with a redirect
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
        try:
            self._proxy = self._serve(_ProxyHandler, "registry-proxy")
            self._blobs = self._serve(_BlobHandler, "blob-host")
        except OSError as exc:
            self.stop()
            raise StandInError(f"the registry proxy could not listen on 127.0.0.1: {exc}") from exc

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str) -> ThreadingHTTPServer:
        server = _Server(("127.0.0.1", 0), handler)
        server.proxy = self
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)
        thread.start()
        self._servers.append((server, thread))
        return server

    @property
    def url(self) -> str:
        """The proxy's host and port, as an image reference starts: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self._proxy.server_address[1]}"

    @property
    def blob_url(self) -> str:
        """The blob host's root, ``http://127.0.0.1:OTHERPORT``."""
        return f"http://127.0.0.1:{self._blobs.server_address[1]}"

    @property
    def blob_requests(self) -> list[BlobRequest]:
        """Every request the blob host received, oldest first (a copy)."""
        with self._lock:
            return list(self._blob_requests)

    def stop(self) -> None:
        """Stop both listeners and close their sockets (idempotent)."""
        for server, thread in self._servers:
            if thread.is_alive():
                server.shutdown()
                thread.join(timeout=10)
            server.server_close()

    # --- signed blob URLs -------------------------------------------------------------------

    def signed_location(self, digest: str) -> str:
        expires = str(int(time.time()) + _URL_LIFETIME)
        signature = self._sign(digest, expires)
        query = urllib.parse.urlencode({"expires": expires, "signature": signature})
        return f"{self.blob_url}/blobs/{digest}?{query}"

    def _sign(self, digest: str, expires: str) -> str:
        return hmac.new(self._secret, f"{digest}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def blob_file(self, digest: str, expires: str, signature: str) -> Path | None:
        """The blob's data file when the signature is good and unexpired, else None."""
        good = hmac.compare_digest(self._sign(digest, expires), signature)
        if not good or not expires.isdigit() or int(expires) < time.time():
            return None
        algorithm, _, hexdigest = digest.partition(":")
        path = (
            self.registry.storage
            / "docker/registry/v2/blobs"
            / algorithm
            / hexdigest[:2]
            / hexdigest
            / "data"
        )
        return path if path.is_file() else None

    def _record(self, request: BlobRequest) -> None:
        with self._lock:
            self._blob_requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: RedirectingRegistry


class _Quiet(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Kept-alive connections: headers and body are two writes, and with Nagle the body waits
    # for the ACK of the headers, which the client delays by 40 ms (TCP delayed ACK).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _ProxyHandler(_Quiet):
    """Every method passed through to the registry; a blob GET the registry allows, redirected."""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _pass(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        # A list, not a dict: clients repeat headers (one Accept per manifest type).
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        if body or self.command in ("PUT", "POST", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        upstream = http.client.HTTPConnection("127.0.0.1", proxy.registry.port, timeout=600)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in headers:
                upstream.putheader(key, value)
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            blob = _BLOB.match(urllib.parse.urlsplit(self.path).path)
            if self.command == "GET" and blob and response.status == 200:
                with proxy._lock:
                    proxy.redirects += 1
                location = proxy.signed_location(blob["digest"])
                self._plain(307, "", {"Location": location})
                return
            self._relay(response)
        except (OSError, http.client.HTTPException) as exc:
            self.close_connection = True
            self._plain(502, f"registry unreachable: {exc}")
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        data = b"" if self.command == "HEAD" else response.read()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _pass


class _BlobHandler(_Quiet):
    """The CDN: a blob's bytes for a valid signed URL; whether credentials came, recorded."""

    def _serve(self) -> None:
        proxy = self.server.proxy
        url = urllib.parse.urlsplit(self.path)
        digest = url.path.removeprefix("/blobs/")
        query = urllib.parse.parse_qs(url.query)
        expires = (query.get("expires") or [""])[0]
        signature = (query.get("signature") or [""])[0]
        path = proxy.blob_file(digest, expires, signature)
        authorization = "Authorization" in self.headers
        if path is None:
            proxy._record(BlobRequest(digest, 403, authorization))
            self._plain(403, "AccessDenied: bad, expired or missing signature")
            return
        proxy._record(BlobRequest(digest, 200, authorization))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        if self.command == "GET":
            with path.open("rb") as fh:
                shutil.copyfileobj(fh, self.wfile, _CHUNK)

    do_GET = do_HEAD = _serve
