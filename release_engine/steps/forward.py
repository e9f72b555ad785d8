"""Forward-merge a hotfix to main: the fix and its CHANGELOG section reach main, once.

The release process (docs/RELEASING.md) cuts a hotfix from the release tag it fixes; without
this step main would never get the fix. ``git merge`` of the hotfix tag into main conflicts
on the files every release rewrites, so those are resolved by rule, and only a conflict in
the fix itself stops:

- the version files keep main's version when main is ahead of the hotfix (3-way merged,
  main's side winning only where both changed the same lines), otherwise take the hotfix's;
- the CHANGELOG is main's with the hotfix's ``[X.Y.Z]`` section put in version order, and its
  link references rewritten;
- the fragments the hotfix's release consumed are removed from main too, so a fix that was
  also committed to main is never released a second time.

Done is observed on the remote: main there contains the hotfix tag. With
``merge = "pull-request"`` the merge reaches main through a pull request from
``release/vX.Y.Z-forward`` (a merged one is done too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion

from ..errors import ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..rules import version_at
from ..tools import keepachangelog
from .common import checkout, link_base, merge_conflicted
from .landing import land, merged_pull, pull_request_mode, sync_main

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["ForwardMerge", "merge_forward"]


def _remote_main(ctx: ReleaseContext) -> str | None:
    return ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.config.main_branch}")


def _consumed_fragments(ctx: ReleaseContext) -> list[str]:
    """The fragment files the hotfix's release commit deleted (built into its section)."""
    out = ctx.git.read(
        "diff", "--name-only", "--diff-filter=D", f"{ctx.tag}^", ctx.tag, "--",
        ctx.config.fragments_dir,
    )  # fmt: skip
    return [line for line in out.splitlines() if line]


def _main_is_ahead(ctx: ReleaseContext) -> bool:
    current = version_at(ctx.git, "HEAD")
    try:
        return current is not None and PackagingVersion(str(current)) > ctx.version.pep440_version
    except InvalidVersion:
        return False


def merge_forward(ctx: ReleaseContext) -> None:
    """Merge the hotfix tag into the checked-out main, resolving the release files by rule."""
    git, config = ctx.git, ctx.config
    git("merge", "--quiet", "--no-ff", "--no-commit", "-m", _message(ctx), ctx.tag, check=False)
    if git.rev("MERGE_HEAD") is None:  # an empty merge: main had everything already
        return
    conflicted = set(git.read("diff", "--name-only", "--diff-filter=U").splitlines())
    ahead = _main_is_ahead(ctx)
    for path in sorted(conflicted & set(config.version_files)):
        merge_conflicted(ctx, path, ours=ahead)
    # Without conflicts the version files are the hotfix's only where main had not moved on.
    changelog = config.changelog_file
    released = git.show(ctx.tag, changelog) or ""
    mine = ctx.git.show(":2", changelog) if changelog in conflicted else None
    text = mine if mine is not None else (ctx.repo / changelog).read_text(encoding="utf-8")
    text = keepachangelog.insert_section(text, ctx.version.pep440, released)
    url = link_base(ctx)  # the project's repository, in a rehearsal too
    if url is not None:
        text = keepachangelog.update_links(text, url, config.tag_prefix)
    (ctx.repo / changelog).write_text(text, encoding="utf-8")
    git("add", "--", changelog)
    for path in _consumed_fragments(ctx):
        if (ctx.repo / path).exists() or path in conflicted:
            git("rm", "--quiet", "--force", "--ignore-unmatch", "--", path)
    left = sorted(
        p
        for p in git.read("diff", "--name-only", "--diff-filter=U").splitlines()
        if p not in config.version_files
    )
    if left:
        git("merge", "--abort")
        raise ReleaseError(
            f"merging {ctx.tag} into {config.main_branch} conflicts in {', '.join(left)}: "
            f"merge it by hand (git checkout {config.main_branch} && git merge {ctx.tag}) "
            f"and push {config.main_branch}"
        )
    git("commit", "--quiet", "--no-edit")


def _message(ctx: ReleaseContext) -> str:
    return f"Merge hotfix {ctx.tag} into {ctx.config.main_branch}"


class ForwardMerge(StepBase):
    name, title = "forward-merge", "Merge the hotfix to main"

    @staticmethod
    def branch(ctx: ReleaseContext) -> str:
        return f"{ctx.release_branch}-forward"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.is_hotfix:
            return Observation.skipped("not a hotfix")
        main = ctx.config.main_branch
        remote = _remote_main(ctx)
        if remote is None:
            return Observation.conflict(f"{ctx.config.remote} has no {main}")
        if ctx.git.rev(remote) is not None and ctx.git.is_ancestor(ctx.tag, remote):
            return Observation.done(f"{main} on {ctx.config.remote} contains {ctx.tag}")
        if not pull_request_mode(ctx):
            return Observation.pending(f"merge {ctx.tag} into {main}, push {main}")
        if ctx.git.rev(remote) is None and (pull := merged_pull(ctx, self.branch(ctx))):
            return Observation.done(f"merged through pull request #{pull.number}")
        return Observation.pending(f"merge {ctx.tag} into {main}, pull request {self.branch(ctx)}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        main, remote = ctx.config.main_branch, ctx.config.remote
        if pull_request_mode(ctx):
            return [
                *sync_main(ctx),
                *checkout(ctx, main),
                self._merge(ctx),
                *land(ctx, source=main, branch=self.branch(ctx), title=_message(ctx)),
            ]
        return [
            ctx.git.command("fetch", "--quiet", remote, f"refs/heads/{main}"),
            *checkout(ctx, main),
            ctx.git.command("merge", "--quiet", "--ff-only", "FETCH_HEAD"),
            self._merge(ctx),
            ctx.git.command("push", "--quiet", remote, f"refs/heads/{main}"),
        ]

    @staticmethod
    def _merge(ctx: ReleaseContext) -> Call:
        return Call(
            f"merge {ctx.tag} into {ctx.config.main_branch}: main's version where it is ahead, "
            f"[{ctx.version}] in version order in {ctx.config.changelog_file}, "
            "the fragments it consumed removed",
            lambda: merge_forward(ctx),
        )
