"""The container registry, observed and retagged through ``skopeo``.

Why skopeo: a registry is spoken to through the distribution token-auth spec, and a client
that gets it right must answer a ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``
challenge at the realm it names, map ``docker.io`` to ``registry-1.docker.io``, not forward
``Authorization`` when a blob download is redirected to a CDN, and fetch a new token when the
old one expires in the middle of a copy. containers/image does all of that and is what podman
pushes with; none of it is ours to hand-write. Reads (``inspect --raw``, ``inspect --config``,
``list-tags``) go through :func:`release_engine.proc.read`; the retag of ``latest`` is a
:class:`~release_engine.proc.Command` (``skopeo copy --preserve-digests``), so a dry run
prints the very command a real run executes.

How credentials travel: never on a command line, in a URL, in a message, or on disk. Given a
username and password, :class:`Registry` holds them in containers-auth.json format
(``{"auths": {HOST: {"auth": base64(user:password)}}}``) in an anonymous in-memory file
(``memfd_create``), which skopeo and podman read as ``--authfile /dev/fd/N``, inherited by
exactly the commands that name it (``Command.pass_fds``). It dies with the process: a run
killed by SIGKILL leaves no credential behind in the clone, in /tmp or anywhere else (the
reliability session scans for it). docker reads only ``DIR/config.json`` (``--config DIR``),
so for docker the caller gives a file path: it is written mode 0600 and deleted by
:meth:`Registry.close`. Without credentials skopeo's own login (``skopeo login`` /
``podman login``) is used. The run's ``Secrets`` hide the password and its base64 form
wherever output is produced; nothing is registered here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from ...errors import CommandError, ConfigError, ReleaseError
from ...proc import Command, read

__all__ = ["Registry"]

_READ_TIMEOUT = 120
_COPY_TIMEOUT = 1800
_UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "connection reset",
)
_REFUSED = ("unauthorized", "authentication required", "denied")
_PLAIN_HTTP = "server gave http response to https client"
_UNTRUSTED = ("x509:", "certificate")
_UNKNOWN = ("manifest unknown", "name unknown", "not known to registry", "404 (not found)")
_FATAL = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


class Registry:
    """One image repository (*image*, a full name without tag) in its registry."""

    def __init__(
        self,
        image: str,
        *,
        tls_verify: bool,
        username: str | None,
        password: str | None,
        authfile: Path | None = None,
    ) -> None:
        last = image.rsplit("/", 1)[-1]
        if not image or "@" in image or ":" in last or "/" not in image:
            raise ConfigError(
                f"image {image!r} is not a full image name without a tag: set image in "
                "[tool.release] to a name like ghcr.io/ORG/NAME or 127.0.0.1:5000/NS/NAME"
            )
        self.image = image
        self.tls_verify = tls_verify
        first = image.split("/", 1)[0]
        looks_like_host = "." in first or ":" in first or first == "localhost"
        #: The registry's host as containers/image names it and keys the authfile: a Docker Hub
        #: name (``org/x``, ``docker.io/org/x``, ``index.docker.io/org/x``) is ``docker.io``,
        #: which skopeo and podman then reach at ``registry-1.docker.io``.
        self.host = first if looks_like_host and first != "index.docker.io" else "docker.io"
        self._login = (username, password) if username and password else None
        self._file = authfile  # docker's DIR/config.json; None: held in memory (memfd)
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._written = False

    @property
    def authfile(self) -> Path | None:
        """The authfile that commands name; None without credentials (skopeo's own login).
        In memory, it is made on first use: holding it changes nothing outside the process."""
        if self._login is None:
            return None
        if self._file is not None:
            return self._file
        with self._lock:  # steps observe side by side: one memory file for them all
            if self._fd is None:
                fd = os.memfd_create("registry-auth", os.MFD_CLOEXEC)
                os.write(fd, self._auth_json())
                self._fd = fd
            return Path(f"/dev/fd/{self._fd}")

    @property
    def pass_fds(self) -> tuple[int, ...]:
        """What a command naming :attr:`authfile` must inherit: the in-memory file, if any."""
        if self.authfile is None or self._file is not None:
            return ()
        return (int(str(self.authfile).rsplit("/", 1)[1]),)

    def _auth_json(self) -> bytes:
        assert self._login is not None
        username, password = self._login
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": token}}}).encode()

    @property
    def login_text(self) -> str:
        """What :meth:`login` does, as a dry run shows it."""
        if self._login is None or self._file is None:
            return "hold the registry credentials in memory for skopeo/podman (never on disk)"
        return f"write the registry credentials to {self._file} (mode 0600)"

    def push_ref(self, tag: str) -> str:
        """The reference an engine pushes *tag* to: ``IMAGE:TAG``."""
        return f"{self.image}:{tag}"

    def login(self) -> None:
        """Make the credentials readable by the commands (memory, or docker's file)."""
        if self._login is None or self._file is None:
            self.authfile  # noqa: B018  # made in memory on first use
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file 0600 before a byte is in it; the rename is atomic.
        fd, tmp = tempfile.mkstemp(prefix=".auth-", dir=self._file.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._auth_json())
            os.replace(tmp, self._file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._written = True

    def close(self) -> None:
        """Forget the credentials (close the memory file, delete docker's); the next command
        that needs them makes them again."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        if self._file is not None:
            self._file.unlink(missing_ok=True)
        self._written = False

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def digest(self, tag: str) -> str | None:
        """The digest (``sha256:…``) of the manifest or index *tag* names; None if absent.

        It is the sha256 of the manifest bytes the registry serves (``skopeo inspect --raw``),
        which is what ``docker pull IMAGE@sha256:…`` and the registry itself call the digest.
        Manifests are JSON as their builders wrote it (no carriage returns), so the text read
        encodes back to the very bytes.
        """
        what = f"read the manifest of {self.push_ref(tag)}"
        raw = self._read("inspect", "--raw", self._ref(tag), what=what)
        if raw is None:
            return None
        return f"sha256:{hashlib.sha256(raw.encode('utf-8')).hexdigest()}"

    def labels(self, tag: str) -> dict[str, str]:
        """The labels in the image config of *tag* (for an index: this platform's image)."""
        what = f"read the image config of {self.push_ref(tag)}"
        raw = self._read("inspect", "--config", self._ref(tag), what=what)
        if raw is None:
            return {}
        config: dict[str, Any] = _json(raw, self.image).get("config") or {}
        return {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}

    def tags(self) -> list[str]:
        """Every tag of the repository; empty if the registry does not know it."""
        raw = self._read(
            "list-tags", f"docker://{self.image}", what=f"list the tags of {self.image}"
        )
        if raw is None:
            return []
        return [str(tag) for tag in _json(raw, self.image).get("Tags") or []]

    def copy_command(self, src_tag: str, dst_tag: str) -> Command:
        """Point *dst_tag* at *src_tag*'s manifest, inside the registry, digest unchanged."""
        return Command.of(
            "skopeo",
            "copy",
            "--all",
            "--preserve-digests",
            f"--src-tls-verify={_flag(self.tls_verify)}",
            f"--dest-tls-verify={_flag(self.tls_verify)}",
            *self._auth_args(),
            self._ref(src_tag),
            self._ref(dst_tag),
            long=True,
            timeout=_COPY_TIMEOUT,
            pass_fds=self.pass_fds,
        )

    # --- reading ----------------------------------------------------------------------------

    def _ref(self, tag: str) -> str:
        return f"docker://{self.push_ref(tag)}"

    def _auth_args(self) -> list[str]:
        authfile = self.authfile
        return [] if authfile is None else ["--authfile", str(authfile)]

    def _read(self, verb: str, *args: str, what: str) -> str | None:
        """skopeo's output for a read; None when the registry says the name is unknown."""
        file = self._file
        if file is not None and self._login is not None and not (self._written and file.exists()):
            self.login()
        argv = ["skopeo", verb, f"--tls-verify={_flag(self.tls_verify)}", *self._auth_args()]
        try:
            proc = read([*argv, *args], timeout=_READ_TIMEOUT, pass_fds=self.pass_fds)
        except CommandError as exc:
            if exc.returncode == 127:
                raise ConfigError(
                    "skopeo is not installed: run scripts/container-env as root to install it"
                ) from None
            if exc.returncode == -9:
                raise ReleaseError(
                    f"registry {self.host} did not answer within {_READ_TIMEOUT} s: "
                    "check that it is up, then run again"
                ) from None
            raise
        if proc.returncode == 0:
            return proc.stdout
        error = self._error(_message(proc.stderr or proc.stdout), what)
        if error is None:
            return None
        raise error

    def _error(self, detail: str, what: str) -> ReleaseError | None:
        """The domain error for skopeo's *detail*; None when it says the name is unknown."""
        lowered = detail.lower()
        if any(word in lowered for word in _UNREACHABLE):
            return ReleaseError(
                f"registry {self.host} is unreachable: {detail}; "
                "check the network and the image name in [tool.release]"
            )
        if any(word in lowered for word in _REFUSED):
            if self._login is None:
                return ConfigError(
                    f"registry {self.host} wants a login for {self.image} ({detail}): "
                    "set and check REGISTRY_USERNAME/REGISTRY_PASSWORD"
                )
            return ConfigError(
                f"registry {self.host} refused the credentials for {self.image} ({detail}): "
                "check REGISTRY_USERNAME/REGISTRY_PASSWORD"
            )
        if _PLAIN_HTTP in lowered:
            return ConfigError(
                f"registry {self.host} speaks plain HTTP, not HTTPS: if it is a test registry, "
                "set registry_tls_verify = false in [tool.release]"
            )
        if any(word in lowered for word in _UNTRUSTED):
            return ConfigError(
                f"registry {self.host} failed the TLS check ({detail}): install its CA "
                "certificate, or for a test registry set registry_tls_verify = false "
                "in [tool.release]"
            )
        if any(word in lowered for word in _UNKNOWN):
            return None
        return ReleaseError(
            f"skopeo could not {what}: {detail}; "
            "check the image name in [tool.release] and the registry, then run again"
        )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _message(output: str) -> str:
    """The one line that says what went wrong, from skopeo's ``level=fatal msg="…"``."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    found = _FATAL.search(last)
    text = found.group(1).replace('\\"', '"') if found else last
    # Drop the 'Error parsing image name "docker://…": … Get "https://…/v2/":' preamble.
    return text.rsplit('": ', 1)[-1].strip()[:300]


def _json(raw: str, image: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ReleaseError(f"skopeo printed no JSON object for {image}: upgrade skopeo to 1.9+")
    return data
