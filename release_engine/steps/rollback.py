"""Rollback, as RELEASE_PROCESS.md describes it, as steps of the same observe/act plan.

Immediate rollback: revert the release's merge commit on main and deploy the previous
version. Tag rollback: a new tag ``rollback-vX.Y.Z`` on the commit before the release, and the
deployment manifests pointed at the previous version's image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Observation, Step
from .post import retarget_manifest

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["ROLLBACK_STEPS", "find_release_merge"]


def find_release_merge(ctx: ReleaseContext) -> str:
    """The merge commit on main whose second parent is the release commit."""
    if ctx.git.tag_info(ctx.tag) is None:
        raise ReleaseError(f"{ctx.tag} does not exist here: git fetch --tags, or check --version")
    commit = ctx.git.rev(ctx.tag)
    out = ctx.git("rev-list", "--first-parent", "--merges", "--parents", ctx.config.main_branch)
    for line in out.splitlines():
        shas = line.split()
        if len(shas) >= 3 and shas[2] == commit:
            return shas[0]
    raise ReleaseError(
        f"{ctx.config.main_branch} has no merge of {ctx.tag}: nothing to roll back there"
    )


def _previous_tag(ctx: ReleaseContext, merge: str) -> str | None:
    proc = ctx.git(
        "describe",
        "--tags",
        "--abbrev=0",
        "--match",
        f"{ctx.config.tag_prefix}*",
        f"{merge}^1",
        check=False,
    )
    return proc or None


class RevertMerge:
    name, title = "revert", "Revert the merge commit on main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        merge = find_release_merge(ctx)
        log = ctx.git("log", "--format=%B", f"{merge}..{ctx.config.main_branch}")
        if f"This reverts commit {merge}" in log:
            return Observation.done(f"{merge[:12]} reverted")
        return Observation.pending(f"git revert -m 1 {merge[:12]}")

    def act(self, ctx: ReleaseContext) -> None:
        merge = find_release_merge(ctx)
        if ctx.git.current_branch() != ctx.config.main_branch:
            ctx.git("checkout", "--quiet", ctx.config.main_branch)
        ctx.git("revert", "--no-edit", "-m", "1", merge)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"git revert --no-edit -m 1 {find_release_merge(ctx)}"]


class RollbackTag:
    name, title = "rollback-tag", "Tag the previous commit"

    def _tag(self, ctx: ReleaseContext) -> str:
        return f"rollback-{ctx.tag}"

    def observe(self, ctx: ReleaseContext) -> Observation:
        target = ctx.git.rev(f"{find_release_merge(ctx)}^1")
        info = ctx.git.tag_info(self._tag(ctx))
        if info is None:
            return Observation.pending(f"{self._tag(ctx)} -> {(target or '')[:12]}")
        if info.commit != target:
            return Observation.conflict(f"{self._tag(ctx)} exists at {info.commit[:12]}")
        return Observation.done(f"{self._tag(ctx)} -> {info.commit[:12]}")

    def act(self, ctx: ReleaseContext) -> None:
        merge = find_release_merge(ctx)
        previous = _previous_tag(ctx, merge) or "the commit before it"
        ctx.git(
            "tag", "-a", self._tag(ctx), "-m", f"Rollback of {ctx.tag} to {previous}", f"{merge}^1"
        )

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"git tag -a {self._tag(ctx)} {find_release_merge(ctx)[:12]}^1"]


class DeployPrevious:
    name, title = "deploy-previous", "Deploy the previous version"

    def _target(self, ctx: ReleaseContext) -> str | None:
        return _previous_tag(ctx, find_release_merge(ctx))

    def _stale(self, ctx: ReleaseContext, target: str) -> list[str]:
        return [
            p
            for p in ctx.config.deploy_manifests
            if (text := ctx.git.show(ctx.config.main_branch, p)) is not None
            and retarget_manifest(text, ctx.config.image, target) != text
        ]

    def observe(self, ctx: ReleaseContext) -> Observation:
        target = self._target(ctx)
        if target is None or not ctx.config.deploy_manifests:
            return Observation.skipped("no earlier release to deploy")
        stale = self._stale(ctx, target)
        return (
            Observation.pending(f"{', '.join(stale)} -> {target}")
            if stale
            else Observation.done(f"manifests at {target}")
        )

    def act(self, ctx: ReleaseContext) -> None:
        target = self._target(ctx)
        assert target is not None
        stale = self._stale(ctx, target)
        for path in stale:
            file = ctx.repo / path
            file.write_text(
                retarget_manifest(file.read_text(encoding="utf-8"), ctx.config.image, target),
                encoding="utf-8",
            )
        ctx.git("add", *stale)
        ctx.git("commit", "--quiet", "-m", f"Deploy {target} (rollback of {ctx.tag})")

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"edit {', '.join(ctx.config.deploy_manifests)}: image tag -> {self._target(ctx)}"]


class PushRollback:
    name, title = "push-rollback", "Push main and the rollback tag"

    def observe(self, ctx: ReleaseContext) -> Observation:
        remote = ctx.git.remote_refs(ctx.config.remote)
        main = ctx.config.main_branch
        if (
            remote.get(f"refs/heads/{main}") == ctx.git.rev(main)
            and f"refs/tags/rollback-{ctx.tag}" in remote
        ):
            return Observation.done(f"{main} and rollback-{ctx.tag} on {ctx.config.remote}")
        return Observation.pending(f"atomic push to {ctx.config.remote}")

    def act(self, ctx: ReleaseContext) -> None:
        ctx.git(
            "push",
            "--quiet",
            "--atomic",
            ctx.config.remote,
            f"refs/heads/{ctx.config.main_branch}",
            f"refs/tags/rollback-{ctx.tag}",
        )

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [
            f"git push --atomic {ctx.config.remote} {ctx.config.main_branch} rollback-{ctx.tag}"
        ]


ROLLBACK_STEPS: tuple[Step, ...] = (RevertMerge(), RollbackTag(), DeployPrevious(), PushRollback())
