"""A real container registry for rehearsals: Debian's ``docker-registry`` on a free local port.

It speaks plain HTTP on 127.0.0.1 (push with ``--tls-verify=false``) and, like a real registry,
wants a password, in one of two ways:

- ``auth="htpasswd"`` (the default): distribution 2.8 accepts htpasswd basic auth without TLS.
  The htpasswd file is written with bcrypt by Apache's ``htpasswd`` (Debian's apache2-utils),
  the password going through stdin.
- ``auth="token"``: as ghcr.io and Docker Hub do, the registry answers ``401`` with a
  ``Bearer realm=…,service=…,scope=…`` challenge and accepts only JWTs from a
  :class:`~release_engine.standins.token_auth.TokenServer` started with it (its
  ``auth: token: {realm, service, issuer, rootcertbundle}`` configuration); clients log in to
  the token server with :attr:`RegistryStandIn.username` and :attr:`RegistryStandIn.password`.

``scripts/container-env`` installs docker-registry and apache2-utils.
"""

from __future__ import annotations

__all__ = ["RegistryStandIn"]

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import CommandError, StandInError
from ..proc import run
from ._server import ServerProcess, answers

if TYPE_CHECKING:  # imported when used: the token mode needs PyJWT and cryptography
    from .token_auth import Algorithm, TokenServer

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
{auth}"""
_HTPASSWD = """\
  htpasswd:
    realm: mdi-registry-stand-in
    path: {htpasswd}
"""
_TOKEN = """\
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
"""
#: The registry's name in its challenges and the tokens' ``aud``, and the tokens' issuer.
SERVICE = "mdi-registry-stand-in"
ISSUER = "mdi-token-stand-in"


class RegistryStandIn(ServerProcess):
    """``docker-registry`` storing under *root* (a temporary directory when None).

    Started on construction; :meth:`stop` (or leaving the ``with`` block) ends it. Images are
    pushed as ``{url}/NAME:TAG`` with :attr:`username` and :attr:`password`. The password is
    not registered anywhere: whoever hands it to a release puts it in that run's credentials,
    whose secrets the run's output redacts. With ``auth="token"``, :attr:`token_server` is the
    token server (*algorithm* signs its tokens), started before and stopped after the registry.
    """

    name = "docker-registry"

    def __init__(
        self,
        root: Path | None = None,
        *,
        username: str = "release-bot",
        auth: Literal["htpasswd", "token"] = "htpasswd",
        algorithm: Algorithm = "ES256",
    ) -> None:
        if auth not in ("htpasswd", "token"):
            raise StandInError(f"unknown registry auth {auth!r}: use htpasswd or token")
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mdi-registry-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.auth = auth
        self.token_server: TokenServer | None = None
        super().__init__(self.root / "registry.log")
        self._config = self.root / "config.yml"
        self._htpasswd = self.root / "htpasswd"
        if not Path(REGISTRY_BINARY).exists():
            raise StandInError(f"{REGISTRY_BINARY} is missing: run scripts/container-env")
        if auth == "token":
            from .token_auth import TokenServer

            self.token_server = TokenServer(
                service=SERVICE,
                issuer=ISSUER,
                users={username: (self.password, ())},
                algorithm=algorithm,
            )
            self.token_server.authority.write_root_bundle(self.root / "token-root.pem")
        else:
            self._write_htpasswd()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _write_htpasswd(self) -> None:
        try:
            run(["htpasswd", "-B", "-i", "-c", self._htpasswd, self.username], input=self.password)
        except CommandError as exc:
            raise StandInError(
                f"cannot write the registry's htpasswd file ({exc}): "
                "run scripts/container-env to install apache2-utils"
            ) from None

    @property
    def url(self) -> str:
        """The registry's host and port, as an image reference starts: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The HTTP API root (``http://127.0.0.1:PORT``), to probe ``/v2/`` directly."""
        return f"http://{self.url}"

    @property
    def storage(self) -> Path:
        """The filesystem driver's root directory (``docker/registry/v2/…`` under it)."""
        return self.root / "storage"

    def _argv(self, port: int) -> list[str]:
        if self.token_server is not None:
            auth = _TOKEN.format(
                realm=self.token_server.url,
                service=SERVICE,
                issuer=ISSUER,
                bundle=self.root / "token-root.pem",
            )
        else:
            auth = _HTPASSWD.format(htpasswd=self._htpasswd)
        self._config.write_text(
            _CONFIG.format(storage=self.storage, port=port, secret=secrets.token_hex(16), auth=auth)
        )
        return [REGISTRY_BINARY, "serve", str(self._config)]

    def _ready(self) -> bool:
        return answers(f"{self.base_url}/v2/", also=(401,))  # 401: up, asking for the password

    def stop(self) -> None:
        """Stop the registry (killed after 10 s) and its token server; drop a temporary root."""
        self._terminate()
        if self.token_server is not None:
            self.token_server.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
