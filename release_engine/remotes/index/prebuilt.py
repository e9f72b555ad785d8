"""``inv release --prebuilt DIR``: an sdist and a wheel built elsewhere, checked against the tag.

CI builds in a job without secrets and publishes from another (PyPA's guidance): the publish
job hands the build job's files to the engine. They are not trusted for being handed over: the
build step still builds the tag's clean export (hatchling's builds are reproducible with
``SOURCE_DATE_EPOCH``, the tagged commit's time, which the build step sets) and compares each
file's sha256 with the prebuilt one of the same name. A mismatch, or a prebuilt file the tag
does not build, is refused in one line (exit 3) before anything is published; matching files
are used, with the PEP 740 attestations beside them (``<file>.<kind>.attestation``, e.g.
``pypi-attestations sign`` makes ``<file>.publish.attestation``), which the upload then sends
(``twine upload --attestations``).
"""

from __future__ import annotations

__all__ = [
    "PrebuiltMismatchError",
    "attestations_of",
    "prebuilt_dists",
    "require_prebuilt",
    "use_prebuilt",
]

import shutil
from pathlib import Path

from ...errors import ConflictError, UsageError
from .. import index

#: How an attestation file is named: ``<distribution file>.<kind>.attestation``.
ATTESTATION = ".attestation"
_DISTS = (".whl", ".tar.gz")


class PrebuiltMismatchError(ConflictError):
    """A prebuilt file is not what the tag builds: refused (exit 3), nothing published."""

    @property
    def exit_code(self) -> int:
        return 3


def prebuilt_dists(directory: Path) -> list[Path]:
    """The distribution files (sdists and wheels) in *directory*, by name."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(_DISTS))


def require_prebuilt(directory: str) -> None:
    """Bad input, in one line, before anything starts: *directory* holds no distribution."""
    if not prebuilt_dists(Path(directory)):
        raise UsageError(
            f"--prebuilt {directory} holds no sdist or wheel: give the directory the build "
            "job's artifacts were downloaded to"
        )


def attestations_of(dist: Path) -> list[Path]:
    """The attestation files beside *dist* (``<name>.<kind>.attestation``), by name."""
    if not dist.parent.is_dir():
        return []
    return sorted(
        p
        for p in dist.parent.iterdir()
        if p.name.startswith(dist.name + ".") and p.name.endswith(ATTESTATION)
    )


def compare(built: list[Path], directory: Path, tag: str) -> None:
    """Refuse a prebuilt file whose bytes are not what *tag* built (*built*), or that the tag
    does not build at all; the first such file is named."""
    mine = {p.name: index.sha256_of(p) for p in built}
    for path in prebuilt_dists(directory):
        sha = index.sha256_of(path)
        if path.name not in mine:
            raise PrebuiltMismatchError(
                f"--prebuilt {path} is not a file {tag} builds ({', '.join(sorted(mine))}): "
                "build the artifacts from the tag, or release without --prebuilt"
            )
        if mine[path.name] != sha:
            raise PrebuiltMismatchError(
                f"--prebuilt {path} has sha256 {sha[:12]}, but {tag} builds "
                f"{mine[path.name][:12]}: build it from the tag with SOURCE_DATE_EPOCH set to "
                "the tagged commit's time, or release without --prebuilt"
            )
    missing = sorted(set(mine) - {p.name for p in prebuilt_dists(directory)})
    if missing:
        raise PrebuiltMismatchError(
            f"--prebuilt {directory} lacks {', '.join(missing)}, which {tag} builds: "
            "give the build job's whole artifact, or release without --prebuilt"
        )


def use_prebuilt(built: list[Path], directory: Path, tag: str) -> None:
    """:func:`compare`, then the prebuilt files in place of *built*, their attestations
    beside them."""
    compare(built, directory, tag)
    for path in built:
        shutil.copyfile(directory / path.name, path)  # the very bytes: they were compared
        for attestation in attestations_of(directory / path.name):
            shutil.copyfile(attestation, path.parent / attestation.name)
