"""Documentation is updated: a release that brings news changed the documentation.

The release process's pre-release checklist says "Documentation is updated". When the release
brings fragments of the types that change what a user reads about (``added``, ``changed``,
``deprecated``, ``removed``), at least one of ``docs_paths`` (default ``docs/`` and
``README.md``) must have changed since the previous release of the line: the newest release
below this one whose tag is on the branch the release is cut from, compared with that branch
by ``git diff``. The first release has nothing to compare with: it passes, and says so. A
release of fixes only passes. ``--skip-docs`` waives it (printed in the report).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tools import changelog, history

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from . import Findings

__all__ = ["NEWS_TYPES", "check", "fragment_type", "previous_release"]

#: The fragment types that need the documentation to say something new.
NEWS_TYPES = ("added", "changed", "deprecated", "removed")


def fragment_type(name: str) -> str:
    """``+slug.added.md`` and ``12.added.2.md`` -> ``added``."""
    parts = name.removesuffix(".md").split(".")
    if len(parts) > 2 and parts[-1].isdigit():
        parts.pop()
    return parts[-1]


def previous_release(ctx: ReleaseContext) -> str | None:
    """The tag of the newest stable release below this one that the base branch contains."""
    newest_first = reversed(ctx.known_versions)  # sorted (versions_from_tags)
    below = [v for v in newest_first if v < ctx.version and not v.is_prerelease]
    same_line = [v for v in below if (v.major, v.minor) == (ctx.version.major, ctx.version.minor)]
    base = ctx.git.rev(ctx.base_branch)
    for version in [*same_line, *below]:
        tag = version.tag(ctx.config.tag_prefix)
        commit = ctx.git.rev(tag)
        if commit and base and history.contains(ctx.git, base, commit):  # remembered by ids
            return tag
    return None


def check(ctx: ReleaseContext, found: Findings) -> None:
    news = sorted(p.name for p in changelog.scan_fragments(ctx.repo).valid
                  if fragment_type(p.name) in NEWS_TYPES)  # fmt: skip
    if not news:
        return
    if ctx.options.skip_docs:
        found.notes.append(f"documentation check skipped (--skip-docs): {len(news)} fragment(s)")
        return
    previous = previous_release(ctx)
    if previous is None:
        found.notes.append("documentation check: the first release, nothing to compare with")
        return
    paths = list(ctx.config.docs_paths)
    changed = ctx.git.read("diff", "--name-only", previous, ctx.base_branch, "--", *paths)
    if changed:
        return
    found.problems.append(
        f"the release brings {', '.join(news)} but {', '.join(paths)} did not change since "
        f"{previous}: update the documentation, or pass --skip-docs"
    )
