"""The rollback's "Investigate root cause" (the release process): one GitHub issue, opened once.

The issue is found by what GitHub shows, its label :data:`LABEL` and its title (``Investigate
the rollback of vX.Y.Z``), so no run from any clone opens a second one. It names the version
rolled back and the one production runs again, main's reverted range and its commits, the pull
requests that brought them (as GitHub associates them with the range's first-parent commits),
and the release notes. The rollback's message and email link to it, and so does
``release.status`` for the rolled-back version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan import Action, Call, Observation, StepBase
from ..remotes.github.issues import IssueInfo, create_issue, issues_labeled, pulls_of_commit
from .common import github_absent, release_notes
from .rollback_scope import release_range, rollback_tag, target_tag

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["LABEL", "InvestigateIssue", "issue_body", "root_cause_issue"]

#: The label the rollback's issue carries, and is found by.
LABEL = "rollback"
#: At most this many commits are listed, and this many first-parent commits asked for pulls.
_MAX_COMMITS, _MAX_PULL_LOOKUPS = 100, 30


def issue_title(ctx: ReleaseContext) -> str:
    return f"Investigate the rollback of {ctx.tag}"


def root_cause_issue(ctx: ReleaseContext) -> IssueInfo | None:
    """The rollback's issue on GitHub, or None (none yet, or no GitHub)."""
    if ctx.github is None:
        return None
    title = issue_title(ctx)
    return next((i for i in issues_labeled(ctx.github, LABEL) if i.title == title), None)


def issue_body(ctx: ReleaseContext) -> str:
    """What the issue says: the versions, the reverted range, its commits and pulls, the notes."""
    span, target, git = release_range(ctx), target_tag(ctx), ctx.git
    reverted = f"{span.start}..{span.merge}"
    rows = git.read("log", f"--max-count={_MAX_COMMITS}", "--format=%h %s", reverted)
    first = git.read("log", "--first-parent", "--format=%H", reverted)
    pulls: dict[int, str] = {}
    if ctx.github is not None:
        for sha in first.split()[:_MAX_PULL_LOOKUPS]:
            for pull in pulls_of_commit(ctx.github, sha):
                pulls.setdefault(pull.number, f"- #{pull.number} {pull.title} ({pull.html_url})")
    release = ctx.github.release_for_tag(ctx.tag) if ctx.github is not None else None
    lines = [
        f"{ctx.tag} was rolled back to {target}: production runs {target} again, as the image "
        f"tag `{rollback_tag(ctx)}`. Find the root cause before the next release.",
        "",
        "## What was reverted",
        f"{ctx.config.main_branch}'s range `{span.start[:12]}..{span.merge[:12]}`, reverted as one "
        f"commit with the trailer `Rollback: {ctx.tag}`.",
        "",
        "### Commits",
        *(f"- {row}" for row in rows.splitlines() if row.strip()),
        "",
        "### Pull requests",
        *(pulls.values() or ["- none that GitHub associates with these commits"]),
        "",
        f"## Release notes of {ctx.tag}",
        *([f"GitHub release: {release.html_url}", ""] if release is not None else []),
        release_notes(ctx).strip(),
    ]
    return "\n".join(lines) + "\n"


class InvestigateIssue(StepBase):
    name, title = "root-cause-issue", "Open the issue to investigate the root cause"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.github is None:
            return Observation.skipped(github_absent(ctx))
        found = root_cause_issue(ctx)
        if found is not None:
            return Observation.done(f"#{found.number} {found.html_url}")
        return Observation.pending(f"issue '{issue_title(ctx)}' labeled {LABEL}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        github = ctx.github
        if github is None:
            return []
        repo = ctx.config.github_repository
        text = f"POST /repos/{repo}/issues title={issue_title(ctx)!r} labels=[{LABEL!r}]"
        title = issue_title(ctx)
        return [Call(text, lambda: create_issue(github, title, issue_body(ctx), [LABEL]))]
