"""A TCP relay in front of a stand-in that can go down, on command or halfway through a request.

A server that is down refuses connections: :meth:`Relay.down` closes the listening socket and
every connection under way, :meth:`Relay.up` listens on the same port again. :meth:`Relay.trip`
takes it down by itself once a client has sent given bytes (a file being uploaded:
``filename="``) or more than a number of bytes (a push halfway through its layers).

The port is below the kernel's ephemeral range: while the relay is down, no client's outgoing
connection and no server binding port 0 can be given it, so :meth:`Relay.up` finds it free.
"""

from __future__ import annotations

__all__ = ["Relay"]

import contextlib
import random
import socket
import threading
from pathlib import Path

#: Where the relays' ports are looked for: below the ephemeral range (Linux's default 32768).
_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


class Relay:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:*target*, byte for byte."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._needle: bytes | None = None
        self._after: int | None = None
        self._sent = 0
        self.trips = 0
        self._listener = self._unclaimed()
        self.port: int = self._listener.getsockname()[1]
        self._start()

    @classmethod
    def _unclaimed(cls) -> socket.socket:
        """A listener on a free port that the kernel never hands out by itself."""
        try:
            low = int(Path(_RANGE).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            low = 32768
        for port in random.sample(range(max(1024, low - 12000), low), 200):
            with contextlib.suppress(OSError):
                return cls._listen(port)
        raise OSError("no free port below the ephemeral range for a relay")

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        return sock

    def _start(self) -> None:
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and self._tripped(data):
                    self.down()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _tripped(self, data: bytes) -> bool:
        with self._lock:
            if self._needle is not None and self._needle in data:
                self._needle = None
                self.trips += 1
                return True
            if self._after is not None:
                self._sent += len(data)
                if self._sent > self._after:
                    self._after = None
                    self.trips += 1
                    return True
        return False

    def trip(self, *, needle: bytes | None = None, after_bytes: int | None = None) -> None:
        """Go down once a client sends *needle*, or more than *after_bytes* in all."""
        with self._lock:
            self._needle, self._after, self._sent = needle, after_bytes, 0

    def down(self) -> None:
        """Refuse connections and cut every one under way."""
        with self._lock:
            conns, self._conns = self._conns, []
            with contextlib.suppress(OSError):  # wakes the accept() under way: it stops at once
                self._listener.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._listener.close()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def up(self) -> None:
        """Listen on the same port again (idempotent)."""
        with self._lock:
            if self._listener.fileno() != -1:
                return
            self._listener = self._listen(self.port)
        self._start()

    def stop(self) -> None:
        self.down()
