"""HTTP for the engine's own requests outside GitHub, over urllib3: the reach probes, the
package index's simple API, the registry's handshake, the webhooks' posts.

Why not requests: urllib3 is requests' own transport, which the GitHub client
(:mod:`.github.http`) loads for every dry run and status already; requests on top of it is
24-30 ms more of import on each command (``python -X importtime -c "import urllib3,
requests"``, run twice so the bytecode is written, on this 2-core machine: urllib3 55 ms,
then requests 24-30 ms) for what these few calls use of it: a timeout, redirects, a form, a
JSON body. Trusted publishing, ``inv release.verify`` and the SBOM's push (oras) still use
requests: they run in a release, where it is loaded anyway.

:func:`fetch` sends one request through one ``urllib3.PoolManager`` per process, made by the
first request (connections kept alive, shared by the threads of an observation). Nothing is
sent again (requests retried nothing either). Redirects are followed as requests followed
them, at most 30, unless the caller says not to (``follow=False``, requests'
``allow_redirects=False``); after a 302 or a 303 (a HEAD's aside) and a POST's 301 comes a
GET without a body. A login (*auth*, or the ``user:password@`` of the URL, which never
travels in the URL) is a Basic ``Authorization`` header sent to the hops at one origin only,
*auth_origin* or the first URL's, never to a host elsewhere. TLS is verified against the
system's certificates, or the bundle ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, as
for the GitHub client. What reaches nobody raises a ``urllib3`` error (:data:`Failure`):
:mod:`release_engine.netcause` puts it in words.
"""

from __future__ import annotations

__all__ = [
    "Answer",
    "CABundle",
    "Failure",
    "StatusError",
    "TooManyRedirects",
    "ca_bundle",
    "fetch",
    "without_login",
]

import json as jsonlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError, URLSchemeUnknown

#: What a request that got no answer raises (urllib3's base class; a bad URL is one too).
Failure = HTTPError
MAX_REDIRECTS = 30  # requests' own bound
_Login = tuple[str, str]
_POOL: urllib3.PoolManager | None = None
_LOCK = threading.Lock()
_BODY_HEADERS = ("content-type", "content-length")


class TooManyRedirects(HTTPError):
    """More than :data:`MAX_REDIRECTS` redirects (requests' words)."""


@dataclass(frozen=True)
class Answer:
    """What a server answered: its status, headers (case-insensitive) and body."""

    status_code: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    url: str  # the last hop's, without a login

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        """The body decoded with the charset of its ``Content-Type``, else UTF-8."""
        charset = ""
        for param in self.headers.get("Content-Type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                charset = value.strip().strip('"')
        try:
            return self.content.decode(charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a ValueError when it is not."""
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise StatusError(self)


class StatusError(Exception):
    """An answer of 4xx or 5xx, when the caller asked for one to raise."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.status_code} {answer.reason}")
        self.answer = answer


class CABundle(TypedDict):
    """The two ``PoolManager`` keywords :func:`ca_bundle` gives."""

    ca_certs: str | None
    ca_cert_dir: str | None


def ca_bundle() -> CABundle:
    """``ca_certs``/``ca_cert_dir`` for a ``PoolManager``: the certificates (a file or a
    directory) ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, as requests honoured them;
    neither set: the system's (OpenSSL's defaults, ``SSL_CERT_FILE``, ``SSL_CERT_DIR``)."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
    folder = bundle is not None and os.path.isdir(bundle)
    return CABundle(ca_certs=None if folder else bundle, ca_cert_dir=bundle if folder else None)


def _pool() -> urllib3.PoolManager:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = urllib3.PoolManager(
                num_pools=10,
                maxsize=4,  # an observation's requests side by side
                retries=False,
                **ca_bundle(),
            )
        return _POOL


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def without_login(url: str) -> tuple[str, _Login | None]:
    """*url* without its ``user:password@``, and that login (None when it has none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    login, _, host = parts.netloc.rpartition("@")
    user, _, password = login.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def _body(data: bytes | Mapping[str, str] | None, json: Any) -> tuple[bytes | None, str | None]:
    """The bytes to send and their ``Content-Type`` (None: the caller's, or none)."""
    if json is not None:
        return jsonlib.dumps(json, allow_nan=False).encode(), "application/json"
    if isinstance(data, Mapping):
        return urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
    return data, None


def fetch(
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float],
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    data: bytes | Mapping[str, str] | None = None,
    json: Any = None,
    auth: _Login | None = None,
    auth_origin: str | None = None,
    follow: bool = True,
    into: Callable[[bytes], None] | None = None,
) -> Answer:
    """Send *method* *url* (see the module's docstring); *timeout* is seconds, or seconds to
    connect and between two reads. With *into*, a 2xx body goes to it in chunks of 1 MiB,
    not into :attr:`Answer.content`."""
    url, in_url = without_login(url)
    auth = auth or in_url
    allowed = _origin(auth_origin or url)
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    body, kind = _body(data, json)
    sent = {"Accept": "*/*", "User-Agent": "release-engine", "Accept-Encoding": "gzip, deflate"}
    sent |= {"Content-Type": kind} if kind else {}
    sent |= dict(headers or {})
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    limit = urllib3.Timeout(connect=connect, read=read)
    for _hop in range(MAX_REDIRECTS + 1):
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise URLSchemeUnknown(scheme or "(none)")
        hop = dict(sent)
        if auth is not None and _origin(url) == allowed:
            hop |= urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}")
        response = _pool().request(method, url, body=body, headers=hop, timeout=limit,
                                   redirect=False, preload_content=False)  # fmt: skip
        location = response.get_redirect_location() if follow else None
        if not location:
            return _read(response, url, into)
        response.drain_conn()
        response.release_conn()
        url = without_login(urljoin(url, location))[0]
        if (response.status in (302, 303) and method != "HEAD") or (
            response.status == 301 and method == "POST"
        ):
            method, body = "GET", None
            sent = {k: v for k, v in sent.items() if k.lower() not in _BODY_HEADERS}
    raise TooManyRedirects(f"Exceeded {MAX_REDIRECTS} redirects.")


def _read(response: Any, url: str, into: Callable[[bytes], None] | None) -> Answer:
    try:
        if into is not None and 200 <= response.status < 300:
            for chunk in response.stream(1 << 20):
                into(chunk)
            content = b""
        else:
            content = response.read()
    finally:
        response.release_conn()
    return Answer(response.status, response.reason or "", response.headers, content, url)
