"""``main_branch`` names a branch the remote has: a typo (``"mian"``) is bad configuration.

Without this check the first to notice is GitHub, asked about a branch it lacks, answering
404, which reads as a token without permissions. The remote's own list of branches says it
plainly, before anything else is asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MalformedConfigError, ReleaseError

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["check_main_branch"]


def check_main_branch(ctx: ReleaseContext) -> None:
    """Raise :class:`MalformedConfigError` (exit 2) when the remote lacks ``main_branch``.

    A remote that cannot be read, or has no branch at all (a new one), is left to the tree
    check, which says so."""
    config = ctx.config
    try:
        refs = ctx.git.remote_refs(config.remote)
    except ReleaseError:
        return
    branches = sorted(r.removeprefix("refs/heads/") for r in refs if r.startswith("refs/heads/"))
    if not branches or config.main_branch in branches:
        return
    from ..settings_schema import suggest

    shown = ", ".join(b for b in branches if not b.startswith(("release/", "hotfix/")))
    raise MalformedConfigError(
        f"main_branch = {config.main_branch!r}: {config.remote} has no such branch"
        f"{suggest(config.main_branch, branches)} (its branches: {shown or ', '.join(branches)})"
        ": fix [tool.release] main_branch or --set main_branch"
    )
