"""The container image: built from the released wheel, tagged, pushed, run and probed locally.

Engines are podman, buildah and docker. The release's build and push are
:class:`~release_engine.proc.Command` data (:meth:`ContainerEngine.build_command`,
:meth:`ContainerEngine.push_command`), so a dry run prints exactly what a real run executes;
looking at the local store goes through :func:`release_engine.proc.read`. What the registry
holds is observed by :mod:`.client` (skopeo), not here.
The machine setup (``scripts/container-env``) writes the system-wide containers config and the
local base image, so nothing here needs special environment variables.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from email.parser import Parser
from pathlib import Path
from typing import Any

from ...errors import ConfigError, UsageError
from ...proc import Command, Progress, read, run
from ...tools.image_lock import check_covers, export_lock

__all__ = [
    "BASE_IMAGE",
    "BUILD_INFO",
    "ENGINES",
    "ContainerEngine",
    "base_image_available",
    "build_metadata",
    "detect_engine",
    "prepare_context",
    "stage_wheel",
    "wheel_requirements",
]

#: The local stand-in for ``python:3.12-slim``, made by ``scripts/container-env``.
BASE_IMAGE = "localhost/mdi-python-base:bookworm"
ENGINES = ("podman", "buildah", "docker")
_BUILD_TIMEOUT = 1800
_PUSH_TIMEOUT = 1800
_EXTRA_MARKER = re.compile(r"\bextra\s*==")
_PINNED = re.compile(r"sha256:[0-9a-f]{64}")  # what a base image pinned by digest names
#: In the staged package (and so in the image, under its PYTHONPATH): what this build was.
BUILD_INFO = "build-info.json"


def _usable(name: str) -> bool:
    if shutil.which(name) is None:
        return False
    if name != "docker":  # podman and buildah are the program itself: no daemon to ask
        return True
    # For docker the CLI alone is not enough: a daemon must answer.
    probe = [name, "version", "--format", "{{.Server.Version}}"]
    return read(probe, timeout=20).returncode == 0


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


def prepare_context(
    wheel: Path,
    dockerfile: Path,
    dest: Path,
    build_args: Mapping[str, str],
    *,
    lock: str | None = None,
) -> Path:
    """Make the build context *dest*: the Dockerfile, ``dist/requirements.txt`` (the wheel's
    runtime dependencies pinned with hashes: *lock*, by default exported from the uv.lock
    beside the Dockerfile, :mod:`.image_lock`) and ``dist/<name>-<version>/``, the wheel
    installed, as the image has it under ``/opt/<name>`` (:func:`stage_wheel`), with
    ``build-info.json`` beside it: the *build_args* of :func:`build_metadata` that the image's
    labels are made of. A lock that pins none of some requirement of the wheel is refused."""
    if not wheel.is_file() or wheel.suffix != ".whl":
        raise UsageError(f"no wheel at {wheel}: build one first (python -m build --wheel)")
    if not dockerfile.is_file():
        raise ConfigError(f"no Dockerfile at {dockerfile}")
    dist = dest / "dist"
    if dist.exists():
        shutil.rmtree(dist)  # what an earlier build left must not be picked up
    dist.mkdir(parents=True)
    text = export_lock(dockerfile.parent) if lock is None else lock
    check_covers(text, wheel_requirements(wheel))
    shutil.copyfile(dockerfile, dest / "Dockerfile")
    (dist / "requirements.txt").write_text(text)
    name, version = wheel.name.split("-")[:2]
    staged = dist / f"{name}-{version}"
    stage_wheel(wheel, staged)
    info = {k.lower(): v for k, v in build_args.items() if k != "BASE_IMAGE"}
    (staged / BUILD_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return dest


def stage_wheel(wheel: Path, dest: Path) -> None:
    """Install *wheel* into the directory *dest*, with pypa/installer: its modules and
    ``.dist-info`` at the top, as a directory on ``PYTHONPATH`` wants them.

    Why not ``pip install`` in the image: a release that changes only the version then
    rebuilds one ``COPY`` of this directory instead of a container running pip (most of a
    version-only rebuild, issue #11). The console scripts are left out: the image has its
    own launcher (``python3 -m <package>``), made once in a layer no release changes, because
    a script's ``#!`` line must name the image's interpreter, which this machine cannot know.
    """
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.records import RecordEntry
    from installer.sources import WheelFile

    class _NoScripts(SchemeDictionaryDestination):
        def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
            return RecordEntry(f"../bin/{name}", None, None)  # made in the image, not here

    schemes = {"purelib": "", "platlib": "", "scripts": "bin", "data": "data", "headers": "include"}
    destination = _NoScripts(
        {scheme: str(dest / sub) for scheme, sub in schemes.items()},
        interpreter="python3",
        script_kind="posix",
    )
    dest.mkdir(parents=True, exist_ok=True)
    with WheelFile.open(wheel) as source:
        install(source, destination, {"INSTALLER": b"release-engine\n"})


def build_metadata(
    version: str,
    revision: str,
    *,
    created: str = "unknown",
    source: str = "",
    base_image: str = "",
) -> dict[str, str]:
    """The build arguments of a release image.

    *base_image* may be pinned by digest (``name@sha256:…``): a malformed digest is refused.
    Its per-build labels (version, revision, creation time, source) are one LABEL, the last
    instruction of the Dockerfile, reading these arguments; :func:`prepare_context` writes the
    same values into the context (``build-info.json``, copied with the package), so the layer
    under that LABEL differs whenever one of them does. buildah keys a cached step by its
    parent layer and its text, not by the values of the arguments it reads: a LABEL over an
    unchanged layer would be served from the cache with an earlier build's values. (Given on
    the command line instead, as ``--label``, each label is a step of its own: four commits
    of a version-only rebuild that one LABEL does in one.)
    """
    args = {"VERSION": version, "REVISION": revision, "CREATED": created, "SOURCE": source}
    if "@" in base_image and not _PINNED.fullmatch(base_image.partition("@")[2]):
        raise ConfigError(
            f"base_image {base_image!r} names no digest: pin it as name@sha256:<64 hex digits> "
            "(podman image inspect --format '{{.Digest}}' NAME) or give a tag without @"
        )
    if base_image:
        args["BASE_IMAGE"] = base_image
    return args


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

    def build_command(
        self,
        context: Path,
        *,
        tags: Sequence[str],
        build_args: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        iidfile: Path,
        timestamp: int | str | None = None,
    ) -> Command:
        """The command that builds ``context/Dockerfile``, tags it, writes its id to *iidfile*.

        *timestamp* (seconds since the epoch: the tagged commit's, SOURCE_DATE_EPOCH) is the
        image's creation time and every layer file's time (podman's and buildah's
        ``--timestamp``), so that the same inputs give the same image ID."""
        argv = [self.name, "bud" if self.name == "buildah" else "build"]
        if self.name != "docker":  # runc/crun isolation needs more than chroot does
            argv += ["--isolation=chroot", "--layers"]
            argv += ["--timestamp", str(timestamp)] if timestamp is not None else []
        argv += ["--file", str(context / "Dockerfile"), "--iidfile", str(iidfile)]
        for tag in tags:
            argv += ["--tag", tag]
        for key, value in (build_args or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        # Labels go on the command line too: a cached LABEL layer may hold an old value.
        for key, value in (labels or {}).items():
            argv += ["--label", f"{key}={value}"]
        return Command.of(*argv, str(context), long=True, timeout=_BUILD_TIMEOUT)

    def build(
        self,
        context: Path,
        *,
        tags: Sequence[str],
        build_args: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Run :meth:`build_command` (output to *progress* as it comes); the new image's id."""
        with tempfile.TemporaryDirectory(prefix="mdi-build-") as tmp:
            iidfile = Path(tmp) / "iid"
            command = self.build_command(
                context, tags=tags, build_args=build_args, labels=labels, iidfile=iidfile
            )
            proc = run(command, progress=progress)
            self.last_output = proc.stdout + proc.stderr
            return _normal_id(iidfile.read_text())

    def inspect(self, ref: str) -> dict[str, Any] | None:
        """The engine's ``inspect`` record of the local image *ref*, or None if absent."""
        argv = ["inspect", "--type", "image"] if self.name == "buildah" else ["image", "inspect"]
        proc = read([self.name, *argv, ref], timeout=60, transient=_not_an_absence)
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout)
        record = data[0] if isinstance(data, list) else data
        return record if isinstance(record, dict) else None

    def inspect_each(self, refs: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`inspect` of each of *refs*, in one call where the engine takes several
        names (podman and docker: a podman process is a tenth of a second); a name the store
        does not hold is None (the others are still printed, the exit code says one failed)."""
        if self.name == "buildah" or len(refs) < 2:
            return {ref: self.inspect(ref) for ref in refs}
        proc = read([self.name, "image", "inspect", *refs], timeout=60, transient=_not_an_absence)
        try:
            data = json.loads(proc.stdout or "[]")
        except ValueError:
            data = []
        records = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
        return {
            ref: next((r for r in records if ref in (r.get("RepoTags") or [])), None)
            for ref in refs
        }

    @staticmethod
    def id_of(record: dict[str, Any] | None) -> str | None:
        """The image id (``sha256:…``) an :meth:`inspect` record names; None for no record."""
        if record is None:
            return None
        return _normal_id(str(record.get("FromImageID") or record.get("Id") or ""))

    @staticmethod
    def labels_of(record: dict[str, Any] | None) -> dict[str, str]:
        """The labels of an :meth:`inspect` record (empty for no record)."""
        record = record or {}
        config = record.get("OCIv1", {}).get("config", {}) or record.get("Config", {})
        return dict(config.get("Labels") or record.get("Labels") or {})

    def image_id(self, ref: str) -> str | None:
        """The id (``sha256:…``) of the local image *ref*, or None if there is none."""
        return self.id_of(self.inspect(ref))

    def labels(self, ref: str) -> dict[str, str]:
        """Every label of the local image *ref* (empty if the image is absent)."""
        return self.labels_of(self.inspect(ref))

    def label(self, ref: str, key: str) -> str | None:
        """One label of the local image *ref*, or None."""
        return self.labels(ref).get(key)

    def tag(self, src: str, dst: str) -> None:
        run([self.name, "tag", src, dst], timeout=60)

    def push_command(
        self, ref: str, *, tls_verify: bool, authfile: Path | None, pass_fds: tuple[int, ...] = ()
    ) -> Command:
        """The command that pushes the local image *ref* to its registry.

        Credentials come from *authfile* (containers-auth.json, held by
        :class:`~release_engine.remotes.registry.client.Registry`, in memory as ``/dev/fd/N`` with
        *pass_fds* the descriptor to inherit), never from the command line; without one the
        engine's own login is used. docker reads ``DIR/config.json`` (the same format) from
        ``--config DIR``, so for docker the authfile must be a file named config.json.
        """
        if self.name == "docker":  # docker has no --tls-verify: its daemon decides
            login: list[str] = []
            if authfile is not None:
                if authfile.name != "config.json":
                    raise UsageError(
                        f"docker reads credentials from DIR/config.json, not {authfile.name}: "
                        "give push_command an authfile named config.json"
                    )
                login = ["--config", str(authfile.parent)]
            return Command.of("docker", *login, "push", ref, long=True, timeout=_PUSH_TIMEOUT)
        login = [] if authfile is None else ["--authfile", str(authfile)]
        return Command.of(
            self.name,
            "push",
            f"--tls-verify={'true' if tls_verify else 'false'}",
            *login,
            ref,
            f"docker://{ref}",
            long=True,
            timeout=_PUSH_TIMEOUT,
            pass_fds=pass_fds,
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
        """Drop the local tag *ref*; absent is fine.

        podman only untags: removing the image could delete layers that a build running at the
        same time is reading from its cache ("layer not known"); ``podman image prune`` frees
        them later. docker's ``rmi`` of a tag untags only while other tags remain.
        """
        # `podman untag IMAGE` alone drops every name of the image: name the one to drop.
        argv = ["untag", ref, ref] if self.name == "podman" else ["rmi", "--force", ref]
        run([self.name, *argv], check=False, timeout=120)

    def _buildah_run(self, ref: str, args: Sequence[str], timeout: float) -> str:
        config = (self.inspect(ref) or {}).get("OCIv1", {}).get("config", {})
        command = [*(config.get("Entrypoint") or []), *(args or config.get("Cmd") or [])]
        working = run(["buildah", "from", "--pull=never", ref], timeout=120).stdout.strip()
        try:
            return run(["buildah", "run", working, "--", *command], timeout=timeout).stdout
        finally:
            run(["buildah", "rm", working], check=False, timeout=60)


def _not_an_absence(proc: subprocess.CompletedProcess[str]) -> bool:
    """Whether a failed ``inspect`` failed for another reason than a name the store does not
    hold: podman lists every image and layer of the store to inspect one, and another process
    removing one at that moment (a build's intermediate, a container) fails it once."""
    said = proc.stderr.lower()
    return not all(
        "image not known" in line or "no such image" in line
        for line in said.splitlines()
        if line.strip()
    )


def _normal_id(raw: str) -> str:
    raw = raw.strip()
    return raw if raw.startswith("sha256:") else f"sha256:{raw}"
