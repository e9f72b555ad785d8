"""A real package index for rehearsals: pypiserver on a free local port, uploads need a password.

The index never lets a file be overwritten, as PyPI does not, so a second upload of the same
filename fails. Files are served with ``#sha256=`` fragments on the PEP 503 simple pages.
"""

from __future__ import annotations

__all__ = ["PackageIndexStandIn"]

import secrets
import sys
from pathlib import Path

# libpass, the maintained fork of passlib, keeps the import name and needs no crypt module
# (gone in Python 3.13); pypiserver reads the file with the same class.
from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

from ._server import ServerProcess, answers


class PackageIndexStandIn(ServerProcess):
    """pypiserver serving ``root/packages``; uploads need :attr:`username`/:attr:`password`."""

    name = "pypiserver"

    def __init__(self, root: Path, *, username: str = "release-bot") -> None:
        self.root = Path(root)
        self.packages = self.root / "packages"
        self.packages.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self._htpasswd = self.root / "htpasswd"
        htpasswd = HtpasswdFile(str(self._htpasswd), new=True, default_scheme="sha256_crypt")
        htpasswd.set_password(username, self.password)
        htpasswd.save()
        super().__init__(self.root / "pypiserver.log")
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

    def _argv(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "pypiserver", "run",
            "--host", "127.0.0.1", "--port", str(port),
            "--hash-algo", "sha256",
            "--authenticate", "update", "--passwords", str(self._htpasswd),
            "--disable-fallback",
            "--health-endpoint", "/health",
            str(self.packages),
        ]  # fmt: skip

    def _ready(self) -> bool:
        return answers(f"{self.url}health")
