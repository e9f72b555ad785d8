"""Rollback, as the release process (docs/RELEASING.md) describes it, as steps of the same
observe/act plan.

``inv rollback --version X.Y.Z`` undoes a release everywhere it went:

- **target**: the newest stable release below X.Y.Z that was not itself rolled back, hotfixes
  included (a rollback of 0.3.1 after the hotfix 0.2.1 and 0.3.0 goes to 0.3.0).
- **code**: on main, the changes X.Y.Z shipped are reverted as one commit carrying the trailer
  ``Rollback: vX.Y.Z``. They are main's first-parent range from the previous release point
  (the merge of an earlier release or hotfix, or an earlier rollback commit) to the merge of
  X.Y.Z; work merged after it stays. Left out of the revert: the CHANGELOG, which keeps the
  section marked ``[YANKED]``; the fragments, which never come back to be released twice; the
  deployment manifests, set to the target by their own step; and the version, which never
  goes back (the next release bumps from it).
- **tag**: ``rollback-vX.Y.Z``, annotated (``Rollback of vX.Y.Z to vA.B.C``), on the target
  release's commit: the code production runs again.
- **latest**, **GitHub** and **people**: in :mod:`.rollback_remotes`.

Refused with one line, before anything changes: a version that was never released, one that
is not the newest release any more, one rolled back already after which a newer release came.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..proc import run
from ..rules import version_at
from ..settle import REVERT_REF, WORKTREES
from ..tools import keepachangelog
from ..tools.bump import bump_command
from .common import checkout, link_base, merge_conflicted, retarget_manifests, stale_manifests
from .landing import land, pull_request_mode
from .rollback_scope import TRAILER, release_range, rollback_tag, target_of, target_tag

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "DeployPrevious",
    "PushRollback",
    "RevertRelease",
    "RollbackTag",
    "YankInChangelog",
    "revert_release",
]


def _kept_paths(ctx: ReleaseContext) -> list[str]:
    """What the revert leaves as main has it: changelog, fragments, deployment manifests."""
    config = ctx.config
    paths = [config.changelog_file, config.fragments_dir, *config.deploy_manifests]
    return [p for p in paths if ctx.git.ok("cat-file", "-e", f"HEAD:{p}")]


def _current_version(ctx: ReleaseContext, ref: str | None) -> str:
    return version_at(ctx.git, ref) or ctx.config.current_version


def revert_release(ctx: ReleaseContext) -> None:
    """Revert the release's range on main as one commit; later work stays.

    The commit is made in a temporary worktree, so a run killed half-way leaves main's work
    tree as it was; main then moves to it by a fast-forward, the commit kept under
    :data:`~release_engine.settle.REVERT_REF` until main has it (a kill inside that last move
    is finished by :func:`~release_engine.settle.settle` on the next run).
    """
    git = ctx.git
    place = git.git_dir() / WORKTREES / ctx.tag.replace("/", "-")
    shutil.rmtree(place, ignore_errors=True)
    git("worktree", "prune")
    git("worktree", "add", "--quiet", "--detach", str(place), "HEAD")
    try:
        commit = _revert_in(dataclasses.replace(ctx, repo=place))
    finally:
        git("worktree", "remove", "--force", str(place))
        shutil.rmtree(place.parent, ignore_errors=True)  # a later run finds no killed one's
    git("update-ref", REVERT_REF, commit)
    git("merge", "--quiet", "--ff-only", commit)
    git("update-ref", "-d", REVERT_REF)


def _revert_in(ctx: ReleaseContext) -> str:
    """The revert commit, made in *ctx*'s work tree (a detached worktree of main)."""
    git, span, target = ctx.git, release_range(ctx), target_of(ctx)
    git("merge-recursive", span.merge, "--", "HEAD", span.start, check=False)
    kept = _kept_paths(ctx)
    git("restore", "--source=HEAD", "--staged", "--worktree", "--", *kept)
    conflicted = git.read("diff", "--name-only", "--diff-filter=U").splitlines()
    for path in conflicted:
        if path in ctx.config.version_files:  # main's version lines win
            merge_conflicted(ctx, path, ours=True)
    left = [p for p in git.read("diff", "--name-only", "--diff-filter=U").splitlines() if p]
    if left:
        git("reset", "--quiet", "--hard", "HEAD")
        raise ReleaseError(
            f"reverting {ctx.tag} conflicts with later work on {ctx.config.main_branch} in "
            f"{', '.join(left)}: revert it by hand with a commit whose message ends with the "
            f"trailer '{TRAILER}: {ctx.tag}'"
        )
    version = _current_version(ctx, "HEAD")
    if _current_version(ctx, None) != version:  # the version never goes back
        run(bump_command(ctx.repo, version))
        git("add", "--all")
    subject = f"Roll back {ctx.tag} to {target.tag(ctx.config.tag_prefix)}"
    body = (
        f"Reverts what {ctx.tag} brought to {ctx.config.main_branch} "
        f"({span.start[:12]}..{span.merge[:12]}); work merged after it stays."
    )
    git(
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        subject,
        "-m",
        body,
        "-m",
        f"{TRAILER}: {ctx.tag}",
    )
    return git.read("rev-parse", "HEAD")


def _reverted(ctx: ReleaseContext) -> bool:
    span = release_range(ctx)
    out = ctx.git.read(
        "log",
        f"--format=%(trailers:key={TRAILER},valueonly)",
        f"{span.merge}..{ctx.config.main_branch}",
    )
    return ctx.tag in out.split()


class RevertRelease(StepBase):
    name, title = "revert", "Revert the release's changes on main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        span = release_range(ctx)
        if _reverted(ctx):
            return Observation.done(f"{TRAILER}: {ctx.tag} on {ctx.config.main_branch}")
        return Observation.pending(f"revert {span.start[:12]}..{span.merge[:12]} as one commit")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        span = release_range(ctx)
        text = (
            f"git merge-recursive {span.merge[:12]} -- HEAD {span.start[:12]}, keeping "
            f"{', '.join(_kept_paths(ctx))} and the version; commit with '{TRAILER}: {ctx.tag}'"
        )
        return [*checkout(ctx, ctx.config.main_branch), Call(text, lambda: revert_release(ctx))]


class RollbackTag(StepBase):
    name, title = "rollback-tag", "Tag the release rolled back to"

    def observe(self, ctx: ReleaseContext) -> Observation:
        target = target_tag(ctx)
        info, wanted = ctx.git.tag_info(rollback_tag(ctx)), ctx.git.rev(target)
        if info is None:
            return Observation.pending(f"{rollback_tag(ctx)} -> {target}")
        if info.commit != wanted:
            return Observation.conflict(f"{rollback_tag(ctx)} exists at {info.commit[:12]}")
        return Observation.done(f"{rollback_tag(ctx)} -> {target} ({info.commit[:12]})")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        target = target_tag(ctx)
        message = f"Rollback of {ctx.tag} to {target}"
        return [ctx.git.command("tag", "-a", rollback_tag(ctx), "-m", message, f"{target}^{{}}")]


class DeployPrevious(StepBase):
    """The manifests on main name the image tag ``rollback-vX.Y.Z``: the target's image,
    under the rollback's own tag (:class:`~.rollback_remotes.RollbackImage` puts it there)."""

    name, title = "deploy-previous", "Deploy the release rolled back to"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.deploy_manifests:
            return Observation.skipped("no deploy_manifests configured")
        if not ctx.config.image:
            return Observation.skipped("no image configured in [tool.release]; manifests stay")
        target, tag = target_tag(ctx), rollback_tag(ctx)
        stale = stale_manifests(ctx, ctx.config.main_branch, tag)
        if stale:
            return Observation.pending(f"{', '.join(stale)} -> {tag} ({target})")
        return Observation.done(f"manifests at {tag} ({target})")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        target, tag = target_tag(ctx), rollback_tag(ctx)
        stale = stale_manifests(ctx, ctx.config.main_branch, tag)
        message = f"Deploy {target} (rollback of {ctx.tag})"
        return [
            *checkout(ctx, ctx.config.main_branch),
            *retarget_manifests(ctx, stale, tag, message),
        ]


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
            url = link_base(ctx)  # the project's repository, in a rehearsal too
            if url is not None:
                text = keepachangelog.update_links(text, url, ctx.config.tag_prefix)
            file.write_text(text, encoding="utf-8")

        return [
            *checkout(ctx, ctx.config.main_branch),
            Call(f"mark [{ctx.version}] [YANKED] in {path}", mark),
            ctx.git.command("add", path),
            ctx.git.command("commit", "--quiet", "-m", f"Mark {ctx.tag} yanked in the changelog"),
        ]


class PushRollback(StepBase):
    """Main and the rollback tag to the remote: one atomic push, or with ``merge =
    "pull-request"`` (a protected main) the tag pushed and main's rollback commits landed
    through a pull request from ``rollback/vX.Y.Z``, after which the local main is the
    remote's."""

    name, title = "push-rollback", "Push main and the rollback tag"

    def observe(self, ctx: ReleaseContext) -> Observation:
        remote = ctx.git.remote_refs(ctx.config.remote)
        main = ctx.config.main_branch
        if (
            remote.get(f"refs/heads/{main}") == ctx.git.rev(main)
            and f"refs/tags/{rollback_tag(ctx)}" in remote
        ):
            return Observation.done(f"{main} and {rollback_tag(ctx)} on {ctx.config.remote}")
        if pull_request_mode(ctx):
            return Observation.pending(f"pull request {self.branch(ctx)} into {main}")
        return Observation.pending(f"atomic push to {ctx.config.remote}")

    @staticmethod
    def branch(ctx: ReleaseContext) -> str:
        return f"rollback/{ctx.tag}"

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        main, tag = ctx.config.main_branch, f"refs/tags/{rollback_tag(ctx)}"
        if pull_request_mode(ctx):
            title = f"Roll back {ctx.tag} to {target_tag(ctx)}"
            push_tag = ctx.git.command("push", "--quiet", ctx.config.remote, tag)
            return [push_tag, *land(ctx, source=main, branch=self.branch(ctx), title=title)]
        refs = (f"refs/heads/{main}", tag)
        return [ctx.git.command("push", "--quiet", "--atomic", ctx.config.remote, *refs)]
