"""What the announcers tell people of a rollback (every channel of
:mod:`release_engine.remotes`, through :class:`~release_engine.remotes.announce.Announce`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..remotes.announce import Message, News, release_links
from .rollback_issue import root_cause_issue
from .rollback_remotes import ROLLED_BACK, yank_guidance
from .rollback_scope import rollback_tag, target_tag

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["RollbackNews"]


class RollbackNews(News):
    """X.Y.Z rolled back to the release before it: what runs now, and what changed where."""

    prefix, about = "rollback-", "rollback"

    def message(self, ctx: ReleaseContext) -> Message:
        target = target_tag(ctx)
        lines = [
            f"{ctx.tag} is rolled back: production runs {target} again.",
            "",
            f"- Deployment manifests: the image tag {rollback_tag(ctx)} ({target}'s image); "
            f"`latest`: {target}",
            f"- GitHub's latest release: {target}; {ctx.tag} is kept, marked {ROLLED_BACK}",
            f"- {ctx.config.changelog_file} keeps the [{ctx.version}] section, marked [YANKED]",
            f"- Package index: {yank_guidance(ctx)}",
        ]
        issue = root_cause_issue(ctx)
        if issue is not None:
            lines.append(f"- Root cause, investigated in: {issue.html_url}")
        subject = f"{ctx.config.package} {ctx.version} rolled back to {target}"
        return Message(subject, "\n".join(lines) + "\n", release_links(ctx), self.prefix)
