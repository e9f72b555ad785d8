"""A real container registry for rehearsals: Debian's ``docker-registry`` on a free local port.

It speaks plain HTTP on 127.0.0.1 (push with ``--tls-verify=false``) and, like a real registry,
wants a password: distribution 2.8 accepts htpasswd basic auth without TLS. The htpasswd file
is written with bcrypt by Apache's ``htpasswd`` (Debian's apache2-utils), the password going
through stdin. ``scripts/container-env`` installs both packages.
"""

from __future__ import annotations

__all__ = ["RegistryStandIn"]

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from ..errors import CommandError, StandInError
from ..proc import run
from ..redact import register_secret

REGISTRY_BINARY = "/usr/bin/docker-registry"
_START_TIMEOUT = 30.0
_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
auth:
  htpasswd:
    realm: mdi-registry-stand-in
    path: {htpasswd}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RegistryStandIn:
    """``docker-registry`` storing under *root* (a temporary directory when None).

    Started on construction; :meth:`stop` (or leaving the ``with`` block) ends it. Images are
    pushed as ``{url}/NAME:TAG`` with :attr:`username` and :attr:`password`.
    """

    def __init__(self, root: Path | None = None, *, username: str = "release-bot") -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mdi-registry-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        register_secret(self.password)
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._config = self.root / "config.yml"
        self._htpasswd = self.root / "htpasswd"
        self._log_path = self.root / "registry.log"
        if not Path(REGISTRY_BINARY).exists():
            raise StandInError(f"{REGISTRY_BINARY} is missing: run scripts/container-env")
        try:
            run(["htpasswd", "-B", "-i", "-c", self._htpasswd, username], input=self.password)
        except CommandError as exc:
            raise StandInError(
                f"cannot write the registry's htpasswd file ({exc}): "
                "run scripts/container-env to install apache2-utils"
            ) from None
        self._start()

    @property
    def url(self) -> str:
        """The registry's host and port, as an image reference starts: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The HTTP API root, for :class:`~release_engine.container.RegistryClient`."""
        return f"http://{self.url}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        last = ""
        for _attempt in range(3):  # a freshly found free port may be taken before we bind it
            self.port = _free_port()
            self._config.write_text(
                _CONFIG.format(
                    storage=self.root / "storage",
                    port=self.port,
                    secret=secrets.token_hex(16),
                    htpasswd=self._htpasswd,
                )
            )
            with self._log_path.open("ab") as log:
                # A server outlives any one call, so it cannot go through proc.run().
                self._proc = subprocess.Popen(
                    [REGISTRY_BINARY, "serve", str(self._config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            if self._wait_until_up():
                return
            last = "\n".join(self.log_text().strip().splitlines()[-3:])
            self._terminate()
        raise StandInError(f"docker-registry did not start on 127.0.0.1: {last or 'no output'}")

    def _wait_until_up(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                with urllib.request.urlopen(f"{self.base_url}/v2/", timeout=2):
                    return True
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for the password
                    return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    def log_text(self) -> str:
        """Everything the registry wrote so far."""
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _terminate(self) -> None:
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
        """Terminate the registry and wait for it (killed after 10 s); drop a temporary root."""
        self._terminate()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RegistryStandIn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:  # a forgotten stand-in must not outlive the tests
        if getattr(self, "_proc", None) is not None:
            self._terminate()
