"""What a rollback undoes and where to: the target, the release's range on main, the refusals.

The scheme is :mod:`.rollback`'s docstring; everything here only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import PreflightError, ReleaseError
from ..version import Version, versions_from_tags

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "TRAILER",
    "Range",
    "own_commits_ahead",
    "release_range",
    "rollback_preconditions",
    "rollback_tag",
    "rollback_target",
    "rolled_back",
    "target_of",
    "target_tag",
]

#: The trailer of the revert commit on main: ``Rollback: vX.Y.Z``.
TRAILER = "Rollback"


def _all_tags(ctx: ReleaseContext) -> set[str]:
    remote = ctx.git.remote_refs(ctx.config.remote)
    tags = {r.removeprefix("refs/tags/").removesuffix("^{}") for r in remote if "refs/tags/" in r}
    return tags | set(ctx.git.tags())


def rollback_tag(ctx: ReleaseContext, version: Version | None = None) -> str:
    return f"rollback-{(version or ctx.version).tag(ctx.config.tag_prefix)}"


def rolled_back(ctx: ReleaseContext) -> set[Version]:
    """The versions that have a ``rollback-vX.Y.Z`` tag, here or on the remote."""
    prefix = f"rollback-{ctx.config.tag_prefix}"
    names = [t.removeprefix("rollback-") for t in _all_tags(ctx) if t.startswith(prefix)]
    return set(versions_from_tags(names, ctx.config.tag_prefix))


def _live(ctx: ReleaseContext) -> list[Version]:
    """Stable releases other than this one that were not rolled back."""
    gone = rolled_back(ctx)
    return [v for v in ctx.known_versions if not v.is_prerelease and v not in gone]


def rollback_target(ctx: ReleaseContext) -> Version | None:
    """The release rolled back to: the newest live stable release below this one."""
    return max((v for v in _live(ctx) if v < ctx.version), default=None)


def target_of(ctx: ReleaseContext) -> Version:
    target = rollback_target(ctx)
    if target is None:
        raise ReleaseError(f"there is no release before {ctx.tag} to roll back to")
    return target


def target_tag(ctx: ReleaseContext) -> str:
    """The tag of the release rolled back to."""
    return target_of(ctx).tag(ctx.config.tag_prefix)


def _release_commits(ctx: ReleaseContext, versions: list[Version]) -> dict[str, Version]:
    found = {}
    for version in versions:
        info = ctx.git.tag_info(version.tag(ctx.config.tag_prefix))
        if info is not None:
            found[info.commit] = version
    return found


@dataclass(frozen=True)
class Range:
    """Main's first-parent commits a release brought: after *start*, up to *merge*."""

    merge: str
    start: str


def release_range(ctx: ReleaseContext) -> Range:
    """Where this release came into main, and the release point before it."""
    main = ctx.config.main_branch
    info = ctx.git.tag_info(ctx.tag)
    if info is None:
        raise ReleaseError(f"{ctx.tag} does not exist here: git fetch --tags, or check --version")
    log = ctx.git.read(
        "log", "--first-parent", f"--format=%H%x09%P%x09%(trailers:key={TRAILER},valueonly)", main
    )
    rows = [line.split("\t") for line in log.splitlines() if line.count("\t") == 2]
    merged = [i for i, (_, parents, _) in enumerate(rows) if parents.split()[1:2] == [info.commit]]
    if not merged:
        raise ReleaseError(f"{main} has no merge of {ctx.tag}: nothing to roll back there")
    at = merged[-1]  # the oldest: a later merge of the same commit is not where it came in
    earlier = _release_commits(ctx, [v for v in _live(ctx) if v < ctx.version])
    for commit, parents, trailer in rows[at + 1 :]:
        second = parents.split()[1:2]
        if trailer.strip() or (second and second[0] in earlier):
            return Range(rows[at][0], commit)
    raise ReleaseError(
        f"{ctx.tag} is the first release on {main}: there is nothing to roll back to; "
        "yank it on the package index instead"
    )


def rollback_preconditions(ctx: ReleaseContext) -> str | None:
    """Refuse what cannot be rolled back; for a rollback finished before, say so (returned)."""
    remote = ctx.git.remote_refs(ctx.config.remote)
    if f"refs/tags/{ctx.tag}" not in remote:
        raise PreflightError([f"{ctx.tag} was never released: {ctx.config.remote} has no such tag"])
    if ctx.version.is_prerelease:
        raise PreflightError(
            [f"{ctx.tag} is a pre-release, never deployed or latest: yank it on the index instead"]
        )
    newer = sorted(v for v in _live(ctx) if v > ctx.version)
    # Finished means pushed: a tag made here by a run killed before its push is resumed.
    done_before = f"refs/tags/{rollback_tag(ctx)}" in remote
    if done_before and newer:
        raise PreflightError(
            [f"{ctx.tag} was rolled back already and {newer[-1].tag(ctx.config.tag_prefix)} was "
             "released since: there is nothing to roll back"]
        )  # fmt: skip
    if newer:
        raise PreflightError(
            [f"{ctx.tag} is not the newest release ({newer[-1].tag(ctx.config.tag_prefix)} is): "
             "roll that back first, or fix forward with a new release"]
        )  # fmt: skip
    if rollback_target(ctx) is None:
        raise PreflightError(
            [f"{ctx.tag} is the first release: there is no earlier release to roll back to; "
             "yank it on the package index instead"]
        )  # fmt: skip
    if done_before:
        return f"{ctx.tag} is already rolled back to {target_tag(ctx)}"
    problems = []
    main = ctx.config.main_branch
    if ctx.git.current_branch() != main:
        problems.append(f"not on {main}: run git checkout {main}")
    there, ours = remote.get(f"refs/heads/{main}"), own_commits_ahead(ctx, remote)
    dirty = [line[3:] for line in ctx.git.status_porcelain()]
    own_files = (ctx.config.changelog_file, *ctx.config.deploy_manifests)
    if dirty and not (ours and set(dirty) <= set(own_files)):
        problems.append(f"the working tree is not clean ({dirty[0]}): commit or stash your changes")
    if there != ctx.git.rev(main) and not ours:
        problems.append(f"local {main} differs from {ctx.config.remote}/{main}: pull first")
    if problems:
        raise PreflightError(problems)
    return None


def own_commits_ahead(ctx: ReleaseContext, remote: dict[str, str]) -> bool:
    """Whether local main is the remote's plus this rollback's own commits (a run killed
    before its push made them): its revert, its changelog mark, its deployment."""
    main = ctx.config.main_branch
    there = remote.get(f"refs/heads/{main}")
    if there is None or ctx.git.rev(there) is None or not ctx.git.is_ancestor(there, main):
        return False
    subjects = ctx.git.read("log", "--format=%s", f"{there}..{main}").splitlines()
    target = target_tag(ctx)
    own = {
        f"Roll back {ctx.tag} to {target}",
        f"Mark {ctx.tag} yanked in the changelog",
        f"Deploy {target} (rollback of {ctx.tag})",
    }
    return bool(subjects) and all(subject in own for subject in subjects)
