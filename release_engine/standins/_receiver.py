"""What every announcer's stand-in shares: an HTTP server on 127.0.0.1 that answers as one
service documents it (:meth:`Receiver.answer`, each stand-in's own), records every message
the service would have posted, and can be told to fail or to hold its next answer.

The messages a stand-in accepts are recorded and counted (:attr:`Receiver.received`); a
refused request (a wrong URL or token, a body the service refuses) records nothing, as the
service posts nothing then. :meth:`Receiver.fail_next` answers the next accepted message with
a failure instead (recording nothing); :meth:`Receiver.hold_next` records the next one and
keeps its answer back, so a client can be killed after the service has posted but before it
was told (the reliability session's kill point).
"""

from __future__ import annotations

__all__ = ["Receiver", "Reply", "Request"]

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import StandInError
from ._server import StandIn
from .github_faults import Hold


@dataclass(frozen=True)
class Request:
    """One request as a stand-in reads it: method, path, query, headers and raw body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Reply:
    """An answer: its status and JSON body (None: no body), and *record*, what is recorded
    as received when the service would have posted it (None: nothing was posted); *posted*
    is called once it is (not when a failure is answered instead)."""

    status: int
    body: Any = None
    record: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    posted: Callable[[], None] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the path is a secret
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parse_qs(parts.query),
                          {k.lower(): v for k, v in self.headers.items()},
                          self.rfile.read(length) if length else b"")  # fmt: skip
        reply, held = self.server.receiver._take(request)
        if held is not None:  # recorded: the message was posted, its answer is kept back
            held.wait()
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        with contextlib.suppress(OSError):  # the client may have gone while the answer was held
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class Receiver(StandIn):
    """A stand-in for a service that posts what it is sent: subclasses say how it answers."""

    name = "receiver"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Any] = []
        self._failures: list[Reply] = []
        self._holds: list[Hold] = []
        try:
            self._server = _Server(("127.0.0.1", 0), _Handler)
        except OSError as exc:
            raise StandInError(f"the {self.name} stand-in could not listen: {exc}") from exc
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.name, daemon=True
        )
        self._thread.start()

    def answer(self, request: Request) -> Reply:
        """How the service answers *request* (called with the stand-in's lock held)."""
        raise NotImplementedError

    def failure(self, status: int) -> Reply:
        """The service's answer when it fails with *status* (a rate limit, an outage)."""
        return Reply(status, {"error": "failure injected"})

    def _take(self, request: Request) -> tuple[Reply, Hold | None]:
        with self._lock:
            reply = self.answer(request)
            if reply.record is None:
                return reply, None
            if self._failures:
                return self._failures.pop(0), None
            self._received.append(reply.record)
            if reply.posted is not None:
                reply.posted()
            return reply, self._holds.pop(0) if self._holds else None

    @property
    def received(self) -> list[Any]:
        """Every message the service posted, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next *count* messages with the service's failure *status*; post nothing."""
        with self._lock:
            self._failures.extend([self.failure(status)] * count)

    def hold_next(self) -> Hold:
        """Post the next message, then keep its answer back until the returned :class:`Hold`
        is released: a client killed meanwhile was heard but never answered."""
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
