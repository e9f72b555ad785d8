"""A webhook sink for rehearsals: records the JSON notifications the engine posts.

Like a Slack incoming webhook, its URL carries a random path segment and is
therefore a secret itself; a POST to any other path is answered 404 and not recorded. A
JSON body (Slack's ``text`` and ``blocks``) is recorded and answered ``200 ok``, as Slack does.
"""

from __future__ import annotations

__all__ = ["NotificationSink", "Received"]

import contextlib
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import StandInError
from ._server import StandIn
from .github_faults import Hold


@dataclass(frozen=True)
class Received:
    """One notification: the path it was posted to and its decoded JSON body."""

    path: str
    body: Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the path is a secret
        pass

    def _answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(405, "method_not_allowed")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        sink = self.server.sink
        if self.path != sink.path:
            self._answer(404, "no_service")
            return
        try:  # Slack checks the payload first: a client may probe the URL with a bad one
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._answer(400, "invalid_payload")
            return
        with sink._lock:
            if sink._failures:
                status = sink._failures.pop(0)
                self._answer(status, "failure_injected")
                return
            sink._received.append(Received(self.path, body))
            held = sink._holds.pop(0) if sink._holds else None
        if held is not None:  # recorded: the message was received, its answer is kept back
            held.wait()
        with contextlib.suppress(OSError):  # the client may have gone while the answer was held
            self._answer(200, "ok")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sink: NotificationSink


class NotificationSink(StandIn):
    """An HTTP server on 127.0.0.1 recording JSON POSTs made to :attr:`url`."""

    def __init__(self) -> None:
        self.path = f"/hooks/{secrets.token_urlsafe(18)}"
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._failures: list[int] = []
        self._holds: list[Hold] = []
        try:
            self._server = _Server(("127.0.0.1", 0), _Handler)
        except OSError as exc:
            message = f"the notification sink could not listen on 127.0.0.1: {exc}"
            raise StandInError(message) from exc
        self._server.sink = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="notification-sink", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The webhook URL; its random path makes it a secret."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def received(self) -> list[Received]:
        """Every notification accepted so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next *count* POSTs to :attr:`url` with *status* and record nothing."""
        with self._lock:
            self._failures.extend([status] * count)

    def hold_next(self) -> Hold:
        """Record the next notification, then keep its answer back until the returned
        :class:`Hold` is released: a client killed meanwhile was heard but never answered."""
        held = Hold()
        with self._lock:
            self._holds.append(held)
        return held

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
