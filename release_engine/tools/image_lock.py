"""The image's runtime dependencies, pinned with hashes: exported from the project's uv.lock.

The image installs its dependencies with ``pip install --require-hashes --no-deps`` from the
file made here, so the same release always gets the very same files (pip refuses any other
bytes), and the file is a release asset of its own, listed in ``SHA256SUMS``.

Why ``uv export --frozen`` of uv.lock, not ``uv pip compile --generate-hashes``: the export
reads the lock the project's CI tested (uv.lock as the tag holds it), needs no network and
resolves nothing, so every clone, at any time, makes the very same bytes; a compile resolves
again against the index of the day and could pick a version published between two runs of
the same release. ``--no-dev`` leaves the dependency groups out, ``--no-emit-project`` the
project itself (the image gets its wheel by ``COPY``); optional dependencies (extras) are left
out, as :func:`release_engine.remotes.registry.container.wheel_requirements` leaves them out.
The lock
covers Python 3.10-3.13 and every platform: its lines carry markers and a hash for each file,
and pip picks the one that fits the image. ``--frozen`` does not check the lock against
pyproject.toml, so :func:`check_covers` does: each requirement of the wheel is pinned.
"""

from __future__ import annotations

__all__ = ["LOCK_SUFFIX", "check_covers", "export_command", "export_lock", "pinned"]

import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import CommandError, ConfigError
from ..proc import read

#: The release asset's name ends so: ``<package>-<version>.requirements.txt``.
LOCK_SUFFIX = ".requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.M)


def export_command(project: Path) -> list[str]:
    """The ``uv export`` that prints *project*'s runtime lock with hashes (no network)."""
    uv = shutil.which("uv")
    program = [uv] if uv else [sys.executable, "-m", "uv"]
    return [
        *program,
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--format",
        "requirements-txt",
        "--project",
        str(project),
        "--no-header",
    ]


def export_lock(project: Path) -> str:
    """The hashed runtime requirements of *project* (a directory with pyproject.toml and
    uv.lock); one-line errors when there is no lock or uv cannot read it."""
    if not (project / "uv.lock").is_file():
        raise ConfigError(
            f"no uv.lock in {project}: the image installs its dependencies from it; "
            "run `uv lock` and commit uv.lock"
        )
    try:
        proc = read(export_command(project), check=True, timeout=120)
    except CommandError as exc:
        raise ConfigError(
            f"uv could not export {project / 'uv.lock'}: {exc}; run `uv lock` and commit it"
        ) from None
    if "--hash=sha256:" not in proc.stdout and pinned(proc.stdout):
        raise ConfigError(f"uv exported {project / 'uv.lock'} without hashes: update uv")
    return proc.stdout


def pinned(text: str) -> set[str]:
    """The (normalized) names a requirements file pins with ``==``."""
    from packaging.utils import canonicalize_name  # here: a command that never asks skips it

    return {canonicalize_name(name) for name in _PIN.findall(text)}


def check_covers(text: str, requirements: Iterable[str], *, lock: str = "uv.lock") -> None:
    """Refuse, in one line, a lock that pins none of some runtime requirement of the wheel."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    names = set()
    for line in requirements:
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue  # the build already refused such metadata; nothing to pin
    missing = sorted(names - pinned(text))
    if missing:
        raise ConfigError(
            f"{lock} pins no {', '.join(missing)}, which the wheel requires: "
            "run `uv lock` and commit uv.lock"
        )
