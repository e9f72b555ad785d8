"""A real package index for rehearsals: pypiserver on a free local port, uploads need a password.

The index never lets a file be overwritten, as PyPI does not, so a second upload of the same
filename fails. Files are served with ``#sha256=`` fragments on the PEP 503 simple pages.
"""

from __future__ import annotations

__all__ = ["PackageIndexStandIn"]

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from types import TracebackType

from ..errors import StandInError

with warnings.catch_warnings():  # passlib imports the deprecated crypt module
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

_START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PackageIndexStandIn:
    """pypiserver serving ``root/packages``; uploads need :attr:`username`/:attr:`password`."""

    def __init__(self, root: Path, *, username: str = "release-bot") -> None:
        self.root = Path(root)
        self.packages = self.root / "packages"
        self.packages.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self._htpasswd = self.root / "htpasswd"
        self._log_path = self.root / "pypiserver.log"
        htpasswd = HtpasswdFile(str(self._htpasswd), new=True, default_scheme="sha256_crypt")
        htpasswd.set_password(username, self.password)
        htpasswd.save()
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._start()

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

    def _start(self) -> None:
        last = ""
        for _attempt in range(3):  # a freshly found free port may be taken before we bind it
            self.port = _free_port()
            argv = [
                sys.executable,
                "-m",
                "pypiserver",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--hash-algo",
                "sha256",
                "--authenticate",
                "update",
                "--passwords",
                str(self._htpasswd),
                "--disable-fallback",
                "--health-endpoint",
                "/health",
                str(self.packages),
            ]
            with self._log_path.open("ab") as log:
                # A server outlives any one call, so it cannot go through proc.run().
                self._proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            if self._wait_until_up():
                return
            last = self._log_tail()
            self.stop()
        raise StandInError(f"pypiserver did not start on 127.0.0.1: {last or 'no output'}")

    def _wait_until_up(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}health", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    def _log_tail(self) -> str:
        try:
            lines = self._log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def log_text(self) -> str:
        """Everything pypiserver wrote so far (its request log)."""
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate pypiserver and wait for it; kill it if it does not go within 10 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> PackageIndexStandIn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
