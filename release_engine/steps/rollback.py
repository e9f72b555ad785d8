"""Rollback, as RELEASE_PROCESS.md describes it, as steps of the same observe/act plan.

Immediate rollback: revert the release's merge commit on main and deploy the previous
version. Tag rollback: a new tag ``rollback-vX.Y.Z`` on the commit before the release, and the
deployment manifests pointed at the previous version's image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import PreflightError, ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..tools import keepachangelog
from .common import checkout, retarget_manifests, stale_manifests

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "DeployPrevious",
    "PushRollback",
    "RevertMerge",
    "RollbackTag",
    "YankInChangelog",
    "find_release_merge",
    "rollback_preconditions",
]


def rollback_preconditions(ctx: ReleaseContext) -> None:
    """A rollback not yet started needs main checked out, clean, and equal to the remote's."""
    if ctx.git.tag_info(f"rollback-{ctx.tag}") is not None:
        return  # started before: the steps themselves tell what is left
    problems = []
    main = ctx.config.main_branch
    if ctx.git.current_branch() != main:
        problems.append(f"not on {main}: run git checkout {main}")
    if ctx.git.status_porcelain():
        problems.append("the working tree is not clean: commit or stash your changes")
    remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{main}")
    if remote != ctx.git.rev(main):
        problems.append(f"local {main} differs from {ctx.config.remote}/{main}: pull first")
    if problems:
        raise PreflightError(problems)


def find_release_merge(ctx: ReleaseContext) -> str:
    """The merge commit on main whose second parent is the release commit."""
    if ctx.git.tag_info(ctx.tag) is None:
        raise ReleaseError(f"{ctx.tag} does not exist here: git fetch --tags, or check --version")
    commit = ctx.git.rev(ctx.tag)
    out = ctx.git.read(
        "rev-list", "--first-parent", "--merges", "--parents", ctx.config.main_branch
    )
    for line in out.splitlines():
        shas = line.split()
        if len(shas) >= 3 and shas[2] == commit:
            return shas[0]
    raise ReleaseError(
        f"{ctx.config.main_branch} has no merge of {ctx.tag}: nothing to roll back there"
    )


def _previous_tag(ctx: ReleaseContext, merge: str) -> str | None:
    proc = ctx.git.read(
        "describe",
        "--tags",
        "--abbrev=0",
        "--match",
        f"{ctx.config.tag_prefix}*",
        f"{merge}^1",
        check=False,
    )
    return proc or None


class RevertMerge(StepBase):
    name, title = "revert", "Revert the merge commit on main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        merge = find_release_merge(ctx)
        log = ctx.git.read("log", "--format=%B", f"{merge}..{ctx.config.main_branch}")
        if f"This reverts commit {merge}" in log:
            return Observation.done(f"{merge[:12]} reverted")
        return Observation.pending(f"git revert -m 1 {merge[:12]}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        revert = ctx.git.command("revert", "--no-edit", "-m", "1", find_release_merge(ctx))
        return [*checkout(ctx, ctx.config.main_branch), revert]


class RollbackTag(StepBase):
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

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        merge = find_release_merge(ctx)
        previous = _previous_tag(ctx, merge) or "the commit before it"
        message = f"Rollback of {ctx.tag} to {previous}"
        return [ctx.git.command("tag", "-a", self._tag(ctx), "-m", message, f"{merge}^1")]


class DeployPrevious(StepBase):
    name, title = "deploy-previous", "Deploy the previous version"

    def _target(self, ctx: ReleaseContext) -> str | None:
        return _previous_tag(ctx, find_release_merge(ctx))

    def observe(self, ctx: ReleaseContext) -> Observation:
        target = self._target(ctx)
        if target is None or not ctx.config.deploy_manifests:
            return Observation.skipped("no earlier release to deploy")
        stale = stale_manifests(ctx, ctx.config.main_branch, target)
        if stale:
            return Observation.pending(f"{', '.join(stale)} -> {target}")
        return Observation.done(f"manifests at {target}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        target = self._target(ctx)
        if target is None:
            return []
        stale = stale_manifests(ctx, ctx.config.main_branch, target)
        return retarget_manifests(ctx, stale, target, f"Deploy {target} (rollback of {ctx.tag})")


class YankInChangelog(StepBase):
    name, title = "yank", "Mark the version yanked in the changelog"

    def observe(self, ctx: ReleaseContext) -> Observation:
        text = ctx.git.show(ctx.config.main_branch, ctx.config.changelog_file)
        if text is None:
            return Observation.skipped(
                f"{ctx.config.main_branch} has no {ctx.config.changelog_file}"
            )
        if keepachangelog.is_yanked(text, ctx.version.pep440):
            return Observation.done(f"[{ctx.version}] marked [YANKED]")
        return Observation.pending(f"## [{ctx.version}] - … [YANKED] on {ctx.config.main_branch}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        path = ctx.config.changelog_file
        released = ctx.git.show(ctx.tag, path) or ""

        def mark() -> None:
            file = ctx.repo / path
            text = keepachangelog.mark_yanked(
                file.read_text(encoding="utf-8"), ctx.version.pep440, released
            )
            if ctx.config.github_repository:
                url = keepachangelog.repository_url(
                    ctx.config.github_repository, ctx.config.github_api_url
                )
                text = keepachangelog.update_links(text, url, ctx.config.tag_prefix)
            file.write_text(text, encoding="utf-8")

        return [
            *checkout(ctx, ctx.config.main_branch),
            Call(f"mark [{ctx.version}] [YANKED] in {path}", mark),
            ctx.git.command("add", path),
            ctx.git.command("commit", "--quiet", "-m", f"Mark {ctx.tag} yanked in the changelog"),
        ]


class PushRollback(StepBase):
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

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        refs = (f"refs/heads/{ctx.config.main_branch}", f"refs/tags/rollback-{ctx.tag}")
        return [ctx.git.command("push", "--quiet", "--atomic", ctx.config.remote, *refs)]
