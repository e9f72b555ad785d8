"""Post-release: point the deployment manifests at the new image (the announcers, which tell
people, are remotes: :mod:`release_engine.remotes.announce`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan import Action, Observation, StepBase
from .common import checkout, retarget_manifests, stale_manifests
from .landing import land, merged_pull, pull_request_mode, remote_main, sync_main

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["DeployManifests"]


class DeployManifests(StepBase):
    """Move the deployment manifests on main to the new image, once that image is pushed.

    Only the newest stable release moves them: a hotfix of an old line or a pre-release
    never redeploys production. A hotfix of the newest line moves them on main, after its
    forward merge. With ``merge = "pull-request"`` the commit reaches main through a pull
    request from ``release/vX.Y.Z-deploy``.
    """

    name, title = "deploy-manifests", "Update deployment manifests"

    @staticmethod
    def branch(ctx: ReleaseContext) -> str:
        return f"{ctx.release_branch}-deploy"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.deploy_manifests:
            return Observation.skipped("no deploy_manifests configured")
        if not ctx.is_newest:
            return Observation.skipped("not the newest stable release; manifests stay")
        if ctx.container is None:
            return Observation.skipped("no image was pushed; manifests stay")
        if pull_request_mode(ctx):
            return self._observe_pull(ctx)
        stale = stale_manifests(ctx, ctx.config.main_branch, ctx.tag)
        remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.config.main_branch}")
        if stale:
            return Observation.pending(", ".join(stale))
        if remote != ctx.git.rev(ctx.config.main_branch):
            return Observation.pending(f"push {ctx.config.main_branch}")
        return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")

    def _observe_pull(self, ctx: ReleaseContext) -> Observation:
        main, there = ctx.config.main_branch, remote_main(ctx)
        if there is not None and not stale_manifests(ctx, there, ctx.tag):
            return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")
        if there is None and (pull := merged_pull(ctx, self.branch(ctx))) is not None:
            return Observation.done(f"merged through pull request #{pull.number}")
        stale = stale_manifests(ctx, main, ctx.tag)
        return Observation.pending(", ".join(stale) or f"pull request {self.branch(ctx)}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        main = ctx.config.main_branch
        found: list[Action] = sync_main(ctx) if pull_request_mode(ctx) else []
        stale = stale_manifests(ctx, main, ctx.tag)
        if stale:
            found += checkout(ctx, main)
            found += retarget_manifests(ctx, stale, ctx.tag, f"Deploy {ctx.tag}")
        return [*found, *land(ctx, source=main, branch=self.branch(ctx), title=f"Deploy {ctx.tag}")]
