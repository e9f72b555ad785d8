"""What this run's release is made of, read from the dist directory and the tag: the built
files, the tagged commit, the release notes. Steps of every kind read them (the build, the
upload, the image, the GitHub release, the announcements), so they live outside the steps and
the remotes, which both import them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ReleaseError
from .remotes import index
from .tools import changelog

if TYPE_CHECKING:
    from .context import ReleaseContext

__all__ = ["artifacts", "release_notes", "tag_commit"]


def artifacts(ctx: ReleaseContext) -> list[Path]:
    """The built sdist and wheel, when exactly those two are in the dist directory."""
    return index.artifacts(ctx.dist_dir, ctx.config.package, ctx.version.pep440)


def tag_commit(ctx: ReleaseContext) -> tuple[str, str]:
    """The tagged commit and its timestamp; placeholders while the tag does not exist (dry run)."""
    if ctx.git.tag_info(ctx.tag) is None:
        return f"<commit of {ctx.tag}>", f"<commit time of {ctx.tag}>"
    return ctx.git.rev(ctx.tag) or "", ctx.git.commit_timestamp(ctx.tag)


def release_notes(ctx: ReleaseContext) -> str:
    """This version's CHANGELOG section, read from the tag."""
    text = ctx.git.show(ctx.tag, ctx.config.changelog_file) or ""
    section = changelog.extract_section(text, ctx.version.pep440)
    if section is None:
        raise ReleaseError(
            f"{ctx.config.changelog_file} at {ctx.tag} has no section [{ctx.version}]"
        )
    return section
