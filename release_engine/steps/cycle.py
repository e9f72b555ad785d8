"""Start the next development cycle: main moves to ``X.Y.(Z+1).dev0`` after the release.

The release process (docs/RELEASING.md) ends the post-release list with "Start next development
cycle". With
``[tool.release] next_cycle = "dev"`` this step does it after a release of the newest stable
line made from main (never after a hotfix branch's release or a pre-release): bump-my-version
writes the development version into the version files (those whose ``[tool.bumpversion]`` entry
says ``exclude_bumps = ["dev_l"]``, such as an install command, keep naming the release), one
commit ``Start X.Y.(Z+1).dev0 development`` goes on main, and main is pushed (with
``merge = "pull-request"``: merged through a pull request from ``release/vX.Y.Z-next``).

Done is observed on the remote: its main carries the development version or a newer one.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion

from ..plan import Action, Observation, StepBase
from ..proc import Command
from ..rules import bumpversion_table, version_at
from ..version import Version, next_development
from .common import checkout
from .landing import land, merged_pull, pull_request_mode, remote_main, sync_main

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["DEV_PART", "NextCycle", "dev_bump_command"]

#: The ``[tool.bumpversion]`` part naming a development version. Bumping through it lets a
#: version file opt out of the development version with ``exclude_bumps = ["dev_l"]``.
DEV_PART = "dev_l"


def _version_at(ctx: ReleaseContext, ref: str) -> PackagingVersion | None:
    """``[tool.bumpversion] current_version`` of pyproject.toml at *ref*, as packaging orders it."""
    current = version_at(ctx.git, ref)
    try:
        return None if current is None else PackagingVersion(str(current))
    except InvalidVersion:
        return None


def dev_bump_command(ctx: ReleaseContext, version: Version, *, dry_run: bool = False) -> Command:
    """``bump-my-version bump [dev_l] --new-version X.Y.Z.dev0`` on the checked-out main
    (``--dry-run``: change nothing)."""
    parts = bumpversion_table(ctx.git.show(ctx.config.main_branch, "pyproject.toml")).get("parts")
    part = [DEV_PART] if isinstance(parts, dict) and DEV_PART in parts else []
    argv = [sys.executable, "-m", "bumpversion", "bump", "--allow-dirty"]
    argv += ["--dry-run"] if dry_run else []
    argv += part
    return Command.of(*argv, "--new-version", version.pep440, cwd=ctx.repo)


class NextCycle(StepBase):
    name, title = "next-cycle", "Start next development cycle"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.config.next_cycle != "dev":
            return Observation.skipped(f'next_cycle = "{ctx.config.next_cycle}"')
        if ctx.is_hotfix:
            return Observation.skipped(f"released from {ctx.base_branch}; main's cycle stays")
        if not ctx.is_newest:
            return Observation.skipped("not the newest stable release; main's cycle stays")
        main, remote = ctx.config.main_branch, ctx.config.remote
        dev = next_development(ctx.version)
        pushed = ctx.git.remote_refs(remote).get(f"refs/heads/{main}")
        if pushed is None:
            return Observation.conflict(f"{remote} has no {main}")
        if pull_request_mode(ctx):
            return self._observe_pull(ctx, dev)
        if ctx.git.rev(pushed) is None or not ctx.git.is_ancestor(pushed, main):
            return Observation.conflict(
                f"{main} on {remote} has commits the local {main} lacks: git pull them"
            )
        there = _version_at(ctx, pushed)
        if there is not None and there >= dev.pep440_version:
            return Observation.done(f"{main} on {remote} at {there}")
        here = _version_at(ctx, main)
        if here is not None and here >= dev.pep440_version:
            return Observation.pending(f"push {main} ({here})")
        return Observation.pending(f"{main} to {dev}: commit, push")

    @staticmethod
    def branch(ctx: ReleaseContext) -> str:
        return f"{ctx.release_branch}-next"

    def _observe_pull(self, ctx: ReleaseContext, dev: Version) -> Observation:
        main, remote, there = ctx.config.main_branch, ctx.config.remote, remote_main(ctx)
        at = _version_at(ctx, there) if there is not None else None
        if at is not None and at >= dev.pep440_version:
            return Observation.done(f"{main} on {remote} at {at}")
        if there is None and (pull := merged_pull(ctx, self.branch(ctx))) is not None:
            return Observation.done(f"merged through pull request #{pull.number}")
        here = _version_at(ctx, main)
        if here is not None and here >= dev.pep440_version:
            return Observation.pending(f"pull request {self.branch(ctx)} ({here})")
        return Observation.pending(f"{main} to {dev}: commit, pull request")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        main, dev = ctx.config.main_branch, next_development(ctx.version)
        found: list[Action] = sync_main(ctx) if pull_request_mode(ctx) else []
        here = _version_at(ctx, main)
        if here is None or here < dev.pep440_version:
            found += checkout(ctx, main)
            found += [
                dev_bump_command(ctx, dev),
                ctx.git.command("add", "--", *ctx.config.version_files),
                ctx.git.command("commit", "--quiet", "-m", f"Start {dev} development"),
            ]
        title = f"Start {dev} development"
        return [*found, *land(ctx, source=main, branch=self.branch(ctx), title=title)]
