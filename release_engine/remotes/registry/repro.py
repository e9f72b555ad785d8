"""The reproducible image, as the release's steps see it: its lock, and a rebuild proved by ID.

The image's runtime dependencies are the tag's uv.lock exported with hashes
(:mod:`release_engine.tools.image_lock`); the same text is the build context's
``dist/requirements.txt`` and a release asset (``<package>-<version>.requirements.txt``,
listed in ``SHA256SUMS``), kept in the release's state directory and made again, bit for bit,
from the tag's clean export on any clone.

A rerun on another machine (an empty image store, the registry already holding the tag)
builds the image again rather than trusting the registry, and compares what is reproducible:
the image ID, which is the digest of the image's config (its layers' diff IDs, history,
labels and creation time, all fixed by the tag), against the config digest the registry's
manifest names. The manifest digest is not compared: it names the compressed layers, and
two compressions of the same layers may differ.
"""

from __future__ import annotations

__all__ = [
    "NotReproducedError",
    "check_rebuilt",
    "config_digest",
    "lock_file",
    "lock_name",
    "rebuilt_mismatch",
]

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConflictError
from ...tools.image_lock import LOCK_SUFFIX, export_lock
from .client import Registry

if TYPE_CHECKING:
    from ...context import ReleaseContext


class NotReproducedError(ConflictError):
    """The image built here from the tag is not the published one: a refusal (exit 3) even
    after the build, which changed nothing anyone else sees."""

    @property
    def exit_code(self) -> int:
        return 3


def lock_name(ctx: ReleaseContext) -> str:
    """The lock asset's name: ``<package>-<version>.requirements.txt``."""
    return f"{ctx.config.package.replace('-', '_')}-{ctx.version.pep440}{LOCK_SUFFIX}"


def lock_file(ctx: ReleaseContext) -> Path | None:
    """The image's lock for this release, exported from the tag's clean export (made by the
    build step; uv reads it in a fraction of a second, offline), or the one kept from an
    earlier run when there is no export here; None when there is neither."""
    path = ctx.state_dir / "assets" / lock_name(ctx)
    src = ctx.state_dir / "src"
    if not (src / "pyproject.toml").is_file():
        return path if path.is_file() else None
    text = export_lock(src)
    if path.is_file() and path.read_text() == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text)
    staged.rename(path)  # whole or not at all
    return path


def config_digest(registry: Registry, tag: str) -> str | None:
    """The config digest (``sha256:…``) the registry's manifest of *tag* names: the image ID
    of the image pushed. None when the tag is absent or names an index (several platforms)."""
    raw = registry._read("inspect", "--raw", registry._ref(tag), what=f"read the manifest of {tag}")
    if raw is None:
        return None
    config = json.loads(raw).get("config") or {}
    digest = config.get("digest")
    return str(digest) if digest else None


def rebuilt_mismatch(ctx: ReleaseContext) -> str | None:
    """One line when the image built here from the tag is not the one the registry holds
    (their image IDs differ); None when they are one, or either is not there to compare."""
    if ctx.container is None:
        return None
    ref = f"{ctx.config.image}:{ctx.tag}"
    local = ctx.container.image_id(ref)
    if local is None:
        return None
    remote = config_digest(ctx.registry, ctx.tag)
    if remote is None or remote == local:
        return None
    return (
        f"the image built here from {ctx.tag} is {local[:19]}, but the registry's "
        f"{ref} is {remote[:19]}: the build did not reproduce the published image; "
        f"compare the two (the base image digest, the lock) before publishing anything else"
    )


def check_rebuilt(ctx: ReleaseContext) -> None:
    """After a build: refuse (:class:`NotReproducedError`) an image that the registry holds
    under this tag with another image ID."""
    mismatch = rebuilt_mismatch(ctx)
    if mismatch is not None:
        raise NotReproducedError(mismatch)
