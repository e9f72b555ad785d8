"""The rollback's steps on the remotes other than git: the rollback's image tag before main
is pushed, the others after main and the tag are.

- **the rollback tag**: the image tag ``rollback-vX.Y.Z`` gets the target's digest by a
  registry-side copy, before main is pushed with the deployment manifests naming it
  (the release process, docs/RELEASING.md: "update deployment to use rollback tag").
- **latest**: the image tag ``latest`` gets the target's digest by a registry-side copy (no
  rebuild); GitHub's latest release becomes the target's, and X.Y.Z's release is kept but
  renamed ``vX.Y.Z (rolled back)`` with a note on top.
- the yank guidance for the index, which can never delete and re-upload a file (PEP 592
  yanking is the way), which the announcers tell people (:mod:`.rollback_news`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan import Action, Call, Observation, StepBase
from ..remotes import index
from .common import github_absent
from .rollback_scope import rollback_tag, target_tag

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "GitHubLatest",
    "LatestImage",
    "RollbackImage",
    "yank_guidance",
]

ROLLED_BACK = "(rolled back)"


class RollbackImage(StepBase):
    """The image tag the deployment manifests name after a rollback: ``rollback-vX.Y.Z``,
    the target's digest, copied inside the registry."""

    name, title = "rollback-image", "Tag the image rolled back to with the rollback tag"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.image:
            return Observation.skipped("no image configured in [tool.release]")
        target, mine = target_tag(ctx), rollback_tag(ctx)
        digest = ctx.registry.digest(target)
        if digest is None:
            return Observation.skipped(f"the registry has no {target} image")
        if ctx.registry.digest(mine) == digest:
            return Observation.done(f"{mine} = {target} ({digest[:19]})")
        return Observation.pending(f"{mine} -> {target}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [
            Call(ctx.registry.login_text, ctx.registry.login),
            ctx.registry.copy_command(target_tag(ctx), rollback_tag(ctx)),
        ]


class LatestImage(StepBase):
    name, title = "latest-image", "Point the latest image at the release rolled back to"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.image:
            return Observation.skipped("no image configured in [tool.release]")
        target = target_tag(ctx)
        digest = ctx.registry.digest(target)
        if digest is None:
            return Observation.skipped(f"the registry has no {target} image")
        if ctx.registry.digest("latest") == digest:
            return Observation.done(f"latest = {target} ({digest[:19]})")
        return Observation.pending(f"latest -> {target}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        target = target_tag(ctx)
        return [
            Call(ctx.registry.login_text, ctx.registry.login),
            ctx.registry.copy_command(target, "latest"),
        ]


def _rollback_note(ctx: ReleaseContext) -> str:
    target = target_tag(ctx)
    return f"**Rolled back** to {target}: do not deploy {ctx.tag}."


class GitHubLatest(StepBase):
    name, title = "github-rollback", "Mark the GitHub releases"

    def observe(self, ctx: ReleaseContext) -> Observation:
        github = ctx.github
        if github is None:
            return Observation.skipped(github_absent(ctx))
        target = target_tag(ctx)
        mine = github.release_for_tag(ctx.tag)
        marked = mine is None or mine.name.endswith(ROLLED_BACK)
        has_target = github.release_for_tag(target) is not None
        latest_ok = not has_target or github.latest_release_tag() == target
        if marked and latest_ok:
            return Observation.done(f"{ctx.tag} marked {ROLLED_BACK}; latest is {target}")
        return Observation.pending(f"{ctx.tag} marked {ROLLED_BACK}, latest -> {target}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        github = ctx.github
        if github is None:
            return []
        target, repo = target_tag(ctx), ctx.config.github_repository
        found: list[Action] = []
        mine = github.release_for_tag(ctx.tag)
        if mine is not None and not mine.name.endswith(ROLLED_BACK):
            body = f"{_rollback_note(ctx)}\n\n{mine.body}"
            name = f"{mine.name or ctx.tag} {ROLLED_BACK}"
            found.append(
                Call(
                    f"PATCH /repos/{repo}/releases/{mine.id} name={name!r} body=<note + notes>",
                    lambda: github.update_release(mine.id, body=body, make_latest=False, name=name),
                )
            )
        previous = github.release_for_tag(target)
        if previous is not None:
            found.append(
                Call(
                    f"PATCH /repos/{repo}/releases/{previous.id} make_latest=true",
                    lambda: github.update_release(
                        previous.id, body=previous.body, make_latest=True
                    ),
                )
            )
        return found


def yank_guidance(ctx: ReleaseContext) -> str:
    """What to do on the package index, which never deletes and re-uploads a file."""
    target = target_tag(ctx)
    return index.yank_guidance(
        ctx.config.index_simple_url or ctx.config.index_url,
        ctx.config.package,
        ctx.version.pep440,
        f"rolled back to {target}",
    )
