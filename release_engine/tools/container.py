"""The container image: built from the released wheel, tagged, pushed, observed in the registry.

Engines are podman, buildah and docker, each driven through :func:`release_engine.proc.run`.
The machine setup (``scripts/container-env``) writes the system-wide containers config and the
local base image, so nothing here needs special environment variables.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from email.parser import Parser
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ReleaseError, UsageError
from ..proc import run
from ..redact import register_secret

__all__ = [
    "BASE_IMAGE",
    "ENGINES",
    "ContainerEngine",
    "RegistryClient",
    "base_image_available",
    "build_metadata",
    "detect_engine",
    "prepare_context",
    "wheel_requirements",
]

#: The local stand-in for ``python:3.12-slim``, made by ``scripts/container-env``.
BASE_IMAGE = "localhost/mdi-python-base:bookworm"
ENGINES = ("podman", "buildah", "docker")
MANIFEST_TYPES = tuple(
    f"application/vnd.{kind}+json"
    for kind in (
        "oci.image.manifest.v1",
        "docker.distribution.manifest.v2",
        "oci.image.index.v1",
        "docker.distribution.manifest.list.v2",
    )
)
_EXTRA_MARKER = re.compile(r"\bextra\s*==")


def _usable(name: str) -> bool:
    if shutil.which(name) is None:
        return False
    # For docker the CLI alone is not enough: a daemon must answer.
    probe = [name, "version", *(["--format", "{{.Server.Version}}"] if name == "docker" else [])]
    return run(probe, check=False, timeout=20).returncode == 0


def detect_engine(preference: str = "auto") -> str | None:
    """The engine to use: *preference* if usable, or for ``auto`` podman, docker, buildah."""
    if preference != "auto" and preference not in ENGINES:
        raise ConfigError(
            f"unknown container engine {preference!r}: set container_engine "
            "in [tool.release] to auto, podman, buildah or docker"
        )
    candidates = ("podman", "docker", "buildah") if preference == "auto" else (preference,)
    return next((name for name in candidates if _usable(name)), None)


def wheel_requirements(wheel: Path) -> list[str]:
    """The wheel's unconditional ``Requires-Dist`` (those of extras left out), in order."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise UsageError(f"{wheel.name} is not a wheel: it has no single .dist-info/METADATA")
        metadata = Parser().parsestr(archive.read(names[0]).decode("utf-8"))
    requirements = metadata.get_all("Requires-Dist") or []
    return [r.strip() for r in requirements if not _EXTRA_MARKER.search(r.partition(";")[2])]


def prepare_context(wheel: Path, dockerfile: Path, dest: Path) -> Path:
    """Make the build context *dest*: Dockerfile, dist/<wheel>, dist/requirements.txt."""
    if not wheel.is_file() or wheel.suffix != ".whl":
        raise UsageError(f"no wheel at {wheel}: build one first (python -m build --wheel)")
    if not dockerfile.is_file():
        raise ConfigError(f"no Dockerfile at {dockerfile}")
    dist = dest / "dist"
    if dist.exists():
        shutil.rmtree(dist)  # a wheel left from an earlier build must not be picked up
    dist.mkdir(parents=True)
    shutil.copyfile(dockerfile, dest / "Dockerfile")
    shutil.copyfile(wheel, dist / wheel.name)
    lines = wheel_requirements(wheel)
    (dist / "requirements.txt").write_text("".join(f"{line}\n" for line in lines))
    return dest


def build_metadata(
    version: str,
    revision: str,
    *,
    created: str = "unknown",
    source: str = "",
    base_image: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """The build arguments and the OCI labels of a release image, as one pair.

    The labels go on the build command line as well as in the Dockerfile: when only a build
    argument changes, the layer cache can keep a LABEL layer holding the old value.
    """
    labels = {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.source": source,
    }
    args = {"VERSION": version, "REVISION": revision, "CREATED": created, "SOURCE": source}
    if base_image:
        args["BASE_IMAGE"] = base_image
    return args, labels


def base_image_available(engine: ContainerEngine | str, image: str = BASE_IMAGE) -> bool:
    """Whether *image* is in the engine's local store (no pulls are attempted)."""
    engine = ContainerEngine(engine) if isinstance(engine, str) else engine
    return engine.image_id(image) is not None


class ContainerEngine:
    """One container engine's command line: build, inspect, tag, push, run, remove."""

    def __init__(self, name: str) -> None:
        if name not in ENGINES:
            raise ConfigError(f"unknown container engine {name!r}: use {', '.join(ENGINES)}")
        self.name = name
        self.last_output = ""  #: what the last build printed (to see "Using cache")

    def build(
        self,
        context: Path,
        *,
        tags: Sequence[str],
        build_args: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        timeout: float = 1800,
    ) -> str:
        """Build ``context/Dockerfile``, tag it with every tag, return the image id."""
        with tempfile.TemporaryDirectory(prefix="mdi-build-") as tmp:
            iidfile = Path(tmp) / "iid"
            argv = [self.name, "bud" if self.name == "buildah" else "build"]
            if self.name != "docker":  # runc/crun isolation needs more than chroot does
                argv += ["--isolation=chroot", "--layers"]
            argv += ["--file", str(context / "Dockerfile"), "--iidfile", str(iidfile)]
            for tag in tags:
                argv += ["--tag", tag]
            for key, value in (build_args or {}).items():
                argv += ["--build-arg", f"{key}={value}"]
            # Labels go on the command line too: a cached LABEL layer may hold an old value.
            for key, value in (labels or {}).items():
                argv += ["--label", f"{key}={value}"]
            proc = run([*argv, str(context)], timeout=timeout)
            self.last_output = proc.stdout + proc.stderr
            return _normal_id(iidfile.read_text())

    def inspect(self, ref: str) -> dict[str, Any] | None:
        """The engine's ``inspect`` record of the local image *ref*, or None if absent."""
        argv = ["inspect", "--type", "image"] if self.name == "buildah" else ["image", "inspect"]
        proc = run([self.name, *argv, ref], check=False, timeout=60)
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout)
        record = data[0] if isinstance(data, list) else data
        return record if isinstance(record, dict) else None

    def image_id(self, ref: str) -> str | None:
        """The id (``sha256:…``) of the local image *ref*, or None if there is none."""
        record = self.inspect(ref)
        if record is None:
            return None
        return _normal_id(str(record.get("FromImageID") or record.get("Id") or ""))

    def labels(self, ref: str) -> dict[str, str]:
        """Every label of the local image *ref* (empty if the image is absent)."""
        record = self.inspect(ref) or {}
        config = record.get("OCIv1", {}).get("config", {}) or record.get("Config", {})
        return dict(config.get("Labels") or record.get("Labels") or {})

    def label(self, ref: str, key: str) -> str | None:
        """One label of the local image *ref*, or None."""
        return self.labels(ref).get(key)

    def tag(self, src: str, dst: str) -> None:
        run([self.name, "tag", src, dst], timeout=60)

    def push(
        self,
        ref: str,
        *,
        tls_verify: bool = True,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Push *ref* to its registry. Credentials, when given, go through an authfile in a
        private temporary directory (never a command line); without them the engine's own
        login is used."""
        register_secret(password)
        with tempfile.TemporaryDirectory(prefix="mdi-auth-") as tmp:
            login: list[str] = []
            if username and password:
                authfile = Path(tmp) / ("config.json" if self.name == "docker" else "auth.json")
                authfile.touch(mode=0o600)
                token = base64.b64encode(f"{username}:{password}".encode()).decode()
                authfile.write_text(json.dumps({"auths": {ref.split("/")[0]: {"auth": token}}}))
                docker = self.name == "docker"
                login = ["--config", tmp] if docker else ["--authfile", str(authfile)]
            if self.name == "docker":  # docker has no --tls-verify: its daemon decides
                run(["docker", *login, "push", ref], timeout=1800)
            else:
                run(
                    [
                        self.name,
                        "push",
                        f"--tls-verify={str(tls_verify).lower()}",
                        *login,
                        ref,
                        f"docker://{ref}",
                    ],
                    timeout=1800,
                )

    def run(
        self,
        ref: str,
        args: Sequence[str] = (),
        *,
        detach: bool = False,
        name: str | None = None,
        timeout: float = 300,
    ) -> str:
        """Run the image *ref* with *args*; its output, or the container id when detached."""
        if self.name == "buildah":
            if detach:
                raise UsageError("buildah cannot run a detached service: use podman or docker")
            return self._buildah_run(ref, args, timeout)
        argv = [self.name, "run", "--detach" if detach else "--rm"]
        argv += ["--name", name] if name else []
        return run([*argv, ref, *args], timeout=timeout).stdout

    def exec(self, container: str, args: Sequence[str], *, timeout: float = 120) -> str:
        """Run *args* inside the running *container*; its output."""
        return run([self.name, "exec", container, *args], timeout=timeout).stdout

    def remove_container(self, container: str) -> None:
        run([self.name, "rm", "--force", container], check=False, timeout=120)

    def remove(self, ref: str) -> None:
        """Remove the local image *ref* (a tag, or an id); absent is fine."""
        run([self.name, "rmi", "--force", ref], check=False, timeout=120)

    def _buildah_run(self, ref: str, args: Sequence[str], timeout: float) -> str:
        config = (self.inspect(ref) or {}).get("OCIv1", {}).get("config", {})
        command = [*(config.get("Entrypoint") or []), *(args or config.get("Cmd") or [])]
        working = run(["buildah", "from", "--pull=never", ref], timeout=120).stdout.strip()
        try:
            return run(["buildah", "run", working, "--", *command], timeout=timeout).stdout
        finally:
            run(["buildah", "rm", working], check=False, timeout=60)


def _normal_id(raw: str) -> str:
    raw = raw.strip()
    return raw if raw.startswith("sha256:") else f"sha256:{raw}"


class RegistryClient:
    """Just enough of the Docker Registry HTTP API V2 to observe images (basic or token auth)."""

    def __init__(
        self,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30,
    ) -> None:
        self.base_url = (base_url if "://" in base_url else f"https://{base_url}").rstrip("/")
        self.username, self.password, self.timeout = username, password, timeout
        register_secret(password)
        self._token: str | None = None

    def manifest_digest(self, repository: str, tag: str) -> str | None:
        """The digest of *repository*:*tag* (index or manifest), or None if there is no tag."""
        found = self._request(f"/v2/{repository}/manifests/{tag}", MANIFEST_TYPES, "HEAD")
        if found is None or found[1].get("docker-content-digest"):
            return None if found is None else found[1]["docker-content-digest"]
        body = self._request(f"/v2/{repository}/manifests/{tag}", MANIFEST_TYPES)
        return None if body is None else f"sha256:{hashlib.sha256(body[0]).hexdigest()}"

    def config_labels(self, repository: str, tag: str) -> dict[str, str]:
        """The labels in the image config of *repository*:*tag* (empty if there is no tag)."""
        manifest: dict[str, Any] = {"manifests": [{"digest": tag}]}
        while "manifests" in manifest:  # the tag, then an index's first platform
            reference = manifest["manifests"][0]["digest"]
            found = self._request(f"/v2/{repository}/manifests/{reference}", MANIFEST_TYPES)
            if found is None:
                return {}
            manifest = json.loads(found[0])
        blob = self._request(f"/v2/{repository}/blobs/{manifest['config']['digest']}", ("*/*",))
        return {} if blob is None else dict(json.loads(blob[0])["config"].get("Labels") or {})

    def tags(self, repository: str) -> list[str]:
        """Every tag of *repository* (empty if the repository is unknown)."""
        found = self._request(f"/v2/{repository}/tags/list", ("application/json",))
        return [] if found is None else list(json.loads(found[0]).get("tags") or [])

    def _request(
        self, path: str, accept: Sequence[str], method: str = "GET"
    ) -> tuple[bytes, Mapping[str, str]] | None:
        """Body and headers of a 2xx answer; None for 404. Answers a Bearer challenge once."""
        for attempt in range(2):
            request = urllib.request.Request(self.base_url + path, method=method)
            request.add_header("Accept", ", ".join(accept))
            if self._token:
                request.add_header("Authorization", f"Bearer {self._token}")
            elif self.username is not None and self.password is not None:
                request.add_header("Authorization", f"Basic {self._basic()}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read(), {k.lower(): v for k, v in response.headers.items()}
            except urllib.error.HTTPError as exc:
                challenge = exc.headers.get("WWW-Authenticate", "")
                if exc.code == 404:
                    return None
                if exc.code == 401 and attempt == 0 and challenge.startswith("Bearer "):
                    self._token = self._fetch_token(challenge)
                    continue
                if exc.code in (401, 403):
                    raise ConfigError(
                        f"registry {self.base_url} refused {method} {path} "
                        f"({exc.code}): check the registry credentials"
                    ) from None
                raise ReleaseError(
                    f"registry {self.base_url} answered {exc.code} to {method} {path}"
                ) from None
            except (urllib.error.URLError, OSError) as exc:
                raise ReleaseError(f"registry {self.base_url} is unreachable: {exc}") from None
        raise ConfigError(f"registry {self.base_url} refused the token for {path}")

    def _basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def _fetch_token(self, challenge: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({k: params[k] for k in ("service", "scope") if k in params})
        request = urllib.request.Request(f"{params.get('realm', '')}?{query}")
        if self.username is not None and self.password is not None:
            request.add_header("Authorization", f"Basic {self._basic()}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ConfigError(f"no registry token from {params.get('realm')}: {exc}") from None
        token = str(answer.get("token") or answer.get("access_token") or "")
        register_secret(token)
        return token
