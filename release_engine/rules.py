"""The rules that say what a release made, each written once: the release commit's subject,
the tag's message and whether a tag of the release's name is the release's own, and the
version the version files hold at a ref."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import tomllib

if TYPE_CHECKING:
    from .context import ReleaseContext
    from .tools.git import Git
    from .version import Version

__all__ = ["bumpversion_table", "foreign_tag", "release_subject", "tag_message", "version_at"]


def release_subject(tag: str) -> str:
    """The subject of the commit a release makes: ``Release vX.Y.Z``."""
    return f"Release {tag}"


def tag_message(version: Version) -> str:
    """The message of the annotated tag a release makes: ``Release version X.Y.Z``."""
    return f"Release version {version}"


def foreign_tag(ctx: ReleaseContext) -> str | None:
    """Why the tag of the release's name is not the release's own (made by hand, or by another
    tool), in words that follow "tag vX.Y.Z is"; None: it is the release's own, or absent."""
    info = ctx.git.tag_info(ctx.tag)
    if info is None:
        return None
    if not info.annotated or info.message != tag_message(ctx.version):
        return f"not the annotated tag {tag_message(ctx.version)!r} a release makes"
    if ctx.git.subject(info.commit) != release_subject(ctx.tag):
        return f"on {info.commit[:12]}, not on a {release_subject(ctx.tag)!r} commit"
    return None


def bumpversion_table(text: str | None) -> dict[str, Any]:
    """``[tool.bumpversion]`` of a pyproject.toml's *text* (empty when there is none)."""
    if text is None:
        return {}
    table = tomllib.loads(text).get("tool", {}).get("bumpversion", {})
    return table if isinstance(table, dict) else {}


def version_at(git: Git, ref: str | None) -> str | None:
    """``[tool.bumpversion] current_version`` at *ref* (None: the work tree), or None."""
    if ref is None:
        path = git.path / "pyproject.toml"
        text = path.read_text(encoding="utf-8") if path.exists() else None
    else:
        text = git.show(ref, "pyproject.toml")
    current = bumpversion_table(text).get("current_version")
    return None if current is None else str(current)
