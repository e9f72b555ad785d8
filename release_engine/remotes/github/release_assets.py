"""The GitHub release with its assets: draft → sdist, wheel, image lock, SBOM, SHA256SUMS →
published.

GitHub's immutable releases take no asset once published, so the release is created as a
draft, gets every asset, and is published last. Each look compares by sha256: an asset GitHub
holds with the same digest is done, a missing one is uploaded, one with other bytes is a
conflict named in one line. What the assets are is made again, bit for bit, on any clone: the
sdist and wheel are rebuilt from the tag, the image's lock exported from the tag's uv.lock
(:mod:`release_engine.remotes.registry.repro`), the SBOM is read from the published image and dated
by the tag's commit (:mod:`release_engine.tools.sbom`), and ``SHA256SUMS`` lists them all and
the image's digest. So a run killed between any two of these converges when run again,
in the same clone or another.
"""

from __future__ import annotations

__all__ = ["Wanted", "sbom_name", "wanted", "wanted_names"]

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...built import artifacts
from ...errors import ReleaseError
from ...tools.sbom import SBOM_SUFFIX, image_distributions, make_sbom
from .. import index
from ..registry.repro import lock_file, lock_name
from .assets import SUMS, render_sums

if TYPE_CHECKING:
    from ...context import ReleaseContext


@dataclass
class Wanted:
    """The release's assets as this clone knows them now: *files* (name → path) and the
    ``SHA256SUMS`` text once every other asset is known."""

    files: dict[str, Path] = field(default_factory=dict)
    sums: str | None = None

    def shas(self) -> dict[str, str]:
        """name → sha256 of every asset known here."""
        found = {name: index.sha256_of(path) for name, path in self.files.items()}
        if self.sums is not None:
            found[SUMS] = hashlib.sha256(self.sums.encode()).hexdigest()
        return found


def sbom_name(ctx: ReleaseContext) -> str:
    """The SBOM asset's name: ``<package>-<version>.cdx.json``."""
    return f"{ctx.config.package.replace('-', '_')}-{ctx.version.pep440}{SBOM_SUFFIX}"


def image_ref(ctx: ReleaseContext) -> str:
    """The released image, as ``SHA256SUMS`` names it."""
    return f"{ctx.config.image}:{ctx.tag}"


def wanted_names(ctx: ReleaseContext) -> list[str]:
    """The names of the assets, for what a dry run shows (the built files when there are)."""
    built = [p.name for p in artifacts(ctx)] or ["<sdist>", "<wheel>"]
    image = [lock_name(ctx), sbom_name(ctx)] if ctx.container is not None else []
    return [*built, *image, SUMS]


def wanted(ctx: ReleaseContext, *, make: bool = False) -> Wanted:
    """What this clone can say of the assets; with *make*, the SBOM and ``SHA256SUMS`` are
    made (and kept in the release's state directory) when the image's digest is known."""
    built = artifacts(ctx)
    if not built:
        return Wanted()
    found = Wanted({p.name: p for p in built})
    sums = {name: index.sha256_of(path) for name, path in found.files.items()}
    if ctx.container is not None:
        lock = lock_file(ctx)  # the image's hashed requirements (registry.repro)
        if lock is not None:
            found.files[lock.name] = lock
            sums[lock.name] = index.sha256_of(lock)
        digest = ctx.registry.digest(ctx.tag)
        if digest is None:
            if make:
                raise ReleaseError(f"{image_ref(ctx)} is not in the registry: push it first")
            return found
        sbom = _sbom(ctx, digest, make=make)
        if sbom is None:
            return found
        found.files[sbom.name] = sbom
        sums[sbom.name] = index.sha256_of(sbom)
        sums[image_ref(ctx)] = digest.removeprefix("sha256:")
    found.sums = render_sums(sums)
    if make:
        (ctx.state_dir / "assets").mkdir(parents=True, exist_ok=True)
        (ctx.state_dir / "assets" / SUMS).write_text(found.sums)
    return found


def _sbom(ctx: ReleaseContext, digest: str, *, make: bool) -> Path | None:
    """The SBOM of the image *digest* (kept under its digest: a rebuilt image gets its own)."""
    path = ctx.state_dir / "assets" / digest.removeprefix("sha256:")[:16] / sbom_name(ctx)
    if path.is_file() or not make:
        return path if path.is_file() else None
    assert ctx.container is not None
    epoch = int(ctx.git.commit_timestamp(ctx.tag))
    registry = ctx.registry
    found = image_distributions(
        ctx.container, image_ref(ctx), tls_verify=ctx.config.registry_tls_verify,
        authfile=registry.authfile, pass_fds=registry.pass_fds,
    )  # fmt: skip
    text = make_sbom(ctx.config.image, ctx.version.pep440, digest, epoch, found)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text)
    staged.rename(path)  # whole or not at all: a killed run leaves no half SBOM
    return path
