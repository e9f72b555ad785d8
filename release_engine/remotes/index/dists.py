"""The release's distribution files: which files of a directory are its sdist and wheel,
their sha256, and how they sort against what the package index serves (nothing goes over the
network here). Names are read with ``packaging.utils`` (``Market_Data.Ingestion`` is
``market-data-ingestion``).
"""

from __future__ import annotations

__all__ = [
    "UploadPlan",
    "artifacts",
    "other_bytes",
    "plan_uploads",
    "release_files",
    "sha256_of",
]

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ...errors import UsageError


class UploadPlan(NamedTuple):
    """Local dists sorted by what the index holds under the same filename."""

    to_upload: list[Path]
    already_there: list[Path]
    conflicts: list[Path]


def sha256_of(path: Path | str) -> str:
    """The hex sha256 of the file at *path*."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def plan_uploads(
    files: Sequence[Path] | Mapping[Path, str], served: Mapping[str, str]
) -> UploadPlan:
    """Sort local *files* against *served* (filename → sha256); nothing goes over the network.

    *files* is a list of paths (hashed here) or a mapping path → sha256 already known.
    Not on the index → upload; there with the same sha256 → already there; there with a
    different sha256 → conflict (an index never lets a filename be replaced).
    """
    hashes = dict(files) if isinstance(files, Mapping) else {Path(f): sha256_of(f) for f in files}
    plan = UploadPlan([], [], [])
    for path in sorted(hashes, key=lambda p: p.name):
        there = served.get(path.name)
        if there is None:
            plan.to_upload.append(path)
        elif there.lower() == hashes[path].lower():
            plan.already_there.append(path)
        else:
            plan.conflicts.append(path)
    return plan


def artifacts(dist_dir: Path, package: str, version: str) -> list[Path]:
    """``[sdist, wheel]`` when *dist_dir* holds exactly those two files of *package* *version*.

    Anything else (no directory, a missing or second dist, another version, a stray file)
    gives ``[]``: the engine then builds again instead of guessing which file to publish.
    """
    if not dist_dir.is_dir():
        return []
    files = sorted(p for p in dist_dir.iterdir() if p.is_file() and p.suffix != ".attestation")
    want = _release(package, version)
    kinds = {_kind(p.name, want): p for p in files}
    if len(files) == 2 and "sdist" in kinds and "wheel" in kinds:
        return [kinds["sdist"], kinds["wheel"]]
    return []


def release_files(names: Iterable[str], package: str, version: str) -> list[str]:
    """The names among *names*, in their order, that are an sdist or a wheel of *package*
    *version*; names that are not distribution file names are left out."""
    want = _release(package, version)
    return [name for name in names if _kind(name, want) is not None]


def other_bytes(names: Iterable[str]) -> str:
    return (
        f"the package index serves {', '.join(names)} with other bytes than this build: an "
        "index never replaces a file (bump the version)"
    )


def _release(package: str, version: str) -> tuple[NormalizedName, Version]:
    try:
        return canonicalize_name(package), Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a PEP 440 version: give one like 1.2.3") from None


def _kind(filename: str, want: tuple[NormalizedName, Version]) -> str | None:
    """``"sdist"`` or ``"wheel"`` when *filename* is one of release *want*, else ``None``."""
    try:
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
            kind = "wheel"
        else:
            name, version = parse_sdist_filename(filename)
            kind = "sdist"
    except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
        return None
    return kind if (name, version) == want else None
