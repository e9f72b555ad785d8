"""GitHub's REST API over urllib3: JSON in and out, ``Link`` pages, limits waited for.

One :class:`GitHubHTTP` per client holds one ``urllib3.PoolManager`` (connections kept
alive, shared by the threads of one observation). Every request carries the token in its
``Authorization`` header only, GitHub's media type and API version, the user agent and a
timeout. TLS is verified against the system's certificates (``SSL_CERT_FILE``), or the
bundle ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names, as requests honoured them for the
GitHub Enterprise Server of a private CA. Connection failures are sent again for any verb
(nothing reached GitHub); what GitHub answers is sent again only as :mod:`.retry` says;
past :data:`~.retry.WRITE_BURST` writes at once, writes are :data:`~.retry.WRITE_INTERVAL`
apart. Each exchange is logged at DEBUG (method, URL, status: never a header) on the logger
:data:`LOGGER`, which the run's ``Secrets.masking_logs`` cleans as well.
"""

from __future__ import annotations

__all__ = ["LOGGER", "GitHubError", "GitHubHTTP", "RateLimited", "next_link"]

import json
import logging
import re
import threading
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import urllib3

from ...errors import ReleaseError
from ..web import ca_bundle
from .retry import (
    MAX_LIMIT_WAIT,
    WRITE_BURST,
    WRITE_INTERVAL,
    LimitBudget,
    Retrying,
    limit_wait,
)

LOGGER = __name__
log = logging.getLogger(LOGGER)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_API_VERSION = "2022-11-28"  # docs.github.com/rest/about-the-rest-api/api-versions


def next_link(link: str | None) -> str | None:
    """The URL of ``rel="next"`` in a ``Link`` header, or None on the last page."""
    found = _NEXT.search(link or "")
    return found[1] if found else None


class GitHubError(ReleaseError):
    """GitHub answered *status* with *data* (its JSON body; ``{"message": …}`` for another
    body). The client turns it into a sentence naming the permission (``_errors``); left
    alone, it still says the status and the path, never the token."""

    def __init__(self, status: int, data: Any, headers: Any, where: str) -> None:
        self.status, self.headers = status, headers
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        super().__init__(f"GitHub answered {self.said} for {where}")

    @property
    def said(self) -> str:
        """The status and GitHub's message (the status's phrase when it sent none)."""
        message = str(self.data.get("message") or "")
        if not message:
            try:
                message = HTTPStatus(self.status).phrase
            except ValueError:
                message = ""
        return f"{self.status} {message}".strip()


class RateLimited(GitHubError):
    """A rate limit that lifts only after longer than the request may wait (*wait* s)."""

    def __init__(self, status: int, data: Any, headers: Any, where: str, wait: float) -> None:
        super().__init__(status, data, headers, where)
        self.wait = wait


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"message": raw.decode(errors="replace")[:200]}


class GitHubHTTP:
    """The API at *api_url* (``https://api.github.com``, or GHES's ``https://host/api/v3``)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        max_wait: float = MAX_LIMIT_WAIT,
        write_interval: float = WRITE_INTERVAL,
        write_burst: int = WRITE_BURST,
        timeout: float = 30.0,
    ) -> None:
        self.api_url, self.limits = api_url.rstrip("/"), LimitBudget(max_wait)
        self.write_interval, self.write_burst = write_interval, max(1, write_burst)
        # A bucket of writes: full at first, one more every write_interval, burst at most.
        self._writes, self._filled, self._lock = float(self.write_burst), 0.0, threading.Lock()
        # Connection failures only: what GitHub answers is for :mod:`.retry`, not urllib3.
        connect = urllib3.Retry(total=4, connect=2, read=0, status=0, other=0, redirect=4,
                                backoff_factor=0.25, respect_retry_after_header=False)  # fmt: skip
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=4,  # an observation's reads side by side
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=connect,
            **ca_bundle(),
        )
        self._headers = {
            "Authorization": f"token {token}",  # a cross-host redirect drops it (urllib3)
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": _API_VERSION,
            "User-Agent": "release-engine",
        }

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """*path* below the API (an absolute URL as it is), with *params* as its query."""
        url = path if "://" in path else self.api_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return url

    def _pace(self, method: str) -> None:
        """Past :attr:`write_burst` writes at once, wait until the last is
        :attr:`write_interval` seconds old (writes only)."""
        if method == "GET" or not self.write_interval:
            return
        with self._lock:
            now = time.monotonic()
            if self._filled:
                refill = (now - self._filled) / self.write_interval
                self._writes = min(float(self.write_burst), self._writes + refill)
            self._filled = now
            self._writes -= 1  # this write's, waited for below when the bucket was empty
            pause = -self._writes * self.write_interval if self._writes < 0 else 0.0
        if pause > 0:
            log.debug("waiting %.1f s before the next write to GitHub", pause)
            time.sleep(pause)

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Any:
        self._pace(method)
        return self._pool.request(method, url, body=body, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/octet-stream",
    ) -> tuple[Any, Any]:
        """Send *method* *path* (a JSON body, or the bytes *data*): GitHub's parsed answer
        and its headers; an answer outside 2xx raises :class:`GitHubError`."""
        url, headers, body = self.url(path, params), dict(self._headers), data
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif data is not None:
            headers["Content-Type"] = content_type
        retrying = Retrying(self.limits)
        while True:
            response = self._send(method, url, body, headers)
            log.debug("%s %s -> %s", method, url, response.status)
            answer = _decode(response.data)
            if response.status < 300:
                return answer, response.headers
            where = url.split("?", 1)[0]
            error = GitHubError(response.status, answer, response.headers, where)
            said = str(error.data.get("message") or "")
            wait = limit_wait(response.status, response.headers, said)
            if wait is not None:
                if not retrying.after_limit(wait):
                    raise RateLimited(response.status, answer, response.headers, where, wait)
                log.info("GitHub's rate limit: %s %s again in %.0f s", method, where, wait)
                time.sleep(wait)
                continue
            pause = retrying.after_server_error(method, response.status)
            if pause is None:
                raise error
            time.sleep(pause)
