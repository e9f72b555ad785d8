"""What every stand-in shares: a context manager, and for the real servers, one process on a
free 127.0.0.1 port, waited for until it answers and always stopped."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TypeVar

from ..errors import StandInError

__all__ = ["ServerProcess", "StandIn", "answers", "free_port"]

S = TypeVar("S", bound="StandIn")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str, *, also: tuple[int, ...] = ()) -> bool:
    """Whether *url* answers 2xx (or one of the status codes in *also*) right now."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code in also
    except (urllib.error.URLError, OSError):
        return False


class StandIn:
    """A local stand-in for a remote: stopped on leaving its ``with`` block."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerProcess(StandIn):
    """A real server run as a child process; subclasses give its command line and probe."""

    name = "server"

    def __init__(self, log_path: Path) -> None:
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = log_path

    def _argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        last = ""
        for _attempt in range(3):  # a freshly found free port may be taken before we bind it
            self.port = free_port()
            argv = self._argv(self.port)
            with self._log_path.open("ab") as log:
                # A server outlives any one call, so it cannot go through proc.run().
                self._proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            deadline = time.monotonic() + START_TIMEOUT
            while self.running and time.monotonic() < deadline:
                if self._ready():
                    return
                time.sleep(0.05)
            last = "\n".join(self.log_text().strip().splitlines()[-3:])
            self._terminate()
        raise StandInError(f"{self.name} did not start on 127.0.0.1: {last or 'no output'}")

    def log_text(self) -> str:
        """Everything the server wrote so far."""
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _terminate(self) -> None:
        """Terminate the server and wait for it; kill it if it does not go within 10 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        self._terminate()

    def __del__(self) -> None:  # a forgotten stand-in must not outlive the tests
        if getattr(self, "_proc", None) is not None:
            self._terminate()
