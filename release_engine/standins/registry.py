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
import tempfile
from pathlib import Path

from ..errors import CommandError, StandInError
from ..proc import run
from ._server import ServerProcess, answers

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


class RegistryStandIn(ServerProcess):
    """``docker-registry`` storing under *root* (a temporary directory when None).

    Started on construction; :meth:`stop` (or leaving the ``with`` block) ends it. Images are
    pushed as ``{url}/NAME:TAG`` with :attr:`username` and :attr:`password`. The password is
    not registered anywhere: whoever hands it to a release puts it in that run's credentials,
    whose secrets the run's output redacts.
    """

    name = "docker-registry"

    def __init__(self, root: Path | None = None, *, username: str = "release-bot") -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mdi-registry-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        super().__init__(self.root / "registry.log")
        self._config = self.root / "config.yml"
        self._htpasswd = self.root / "htpasswd"
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
        """The HTTP API root (``http://127.0.0.1:PORT``), to probe ``/v2/`` directly."""
        return f"http://{self.url}"

    def _argv(self, port: int) -> list[str]:
        self._config.write_text(
            _CONFIG.format(
                storage=self.root / "storage",
                port=port,
                secret=secrets.token_hex(16),
                htpasswd=self._htpasswd,
            )
        )
        return [REGISTRY_BINARY, "serve", str(self._config)]

    def _ready(self) -> bool:
        return answers(f"{self.base_url}/v2/", also=(401,))  # 401: up, asking for the password

    def stop(self) -> None:
        """Terminate the registry and wait for it (killed after 10 s); drop a temporary root."""
        self._terminate()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
