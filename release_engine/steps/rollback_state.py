"""A rolled-back release, as the world shows it: part of what every run of it observes.

A release is rolled back when its rollback tag ``rollback-vX.Y.Z`` is on the remote (pushed by
``inv rollback``, so every clone sees it), or when its GitHub release is marked ``(rolled
back)``. Then no step of it acts again, from any clone: ``inv release --version X.Y.Z`` is
refused before anything changes (exit 3), naming the rollback and the way forward (a new
version), and ``release.status`` shows it rolled back: no step pending, the rollback's own row
saying where the deployment stands (the image tag ``rollback-vX.Y.Z`` and the manifests) and
which issue holds the investigation of its root cause.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import CommandError, ConflictError, ReleaseError
from ..plan import Outcome, Status
from ..version import versions_from_tags
from .common import stale_manifests
from .rollback_issue import root_cause_issue
from .rollback_remotes import ROLLED_BACK
from .rollback_scope import rollback_tag

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["RolledBack", "as_rolled_back", "refuse_rolled_back", "rolled_back_release"]


@dataclass(frozen=True)
class RolledBack:
    """How the world shows that this release was rolled back, and to which release."""

    tag: str  # rollback-vX.Y.Z
    seen: str  # where: "rollback-v0.3.1 on origin", "GitHub release v0.3.1 marked (rolled back)"
    target: str | None  # the release tag whose commit the rollback tag holds


def _target(ctx: ReleaseContext, remote: dict[str, str], sha: str) -> str | None:
    """The release tag on the remote at the commit *sha*."""
    names = {r.removeprefix("refs/tags/").removesuffix("^{}") for r in remote if "refs/tags/" in r}
    for name in sorted(names):
        peeled = remote.get(f"refs/tags/{name}^{{}}") or remote.get(f"refs/tags/{name}")
        if peeled == sha and versions_from_tags([name], ctx.config.tag_prefix):
            return name
    return None


def rolled_back_release(ctx: ReleaseContext) -> RolledBack | None:
    """This release's rollback as the remote and GitHub show it; None when it was not rolled
    back (or the remote cannot be read: the run's own checks say so, in their words)."""
    try:
        remote = ctx.git.remote_refs(ctx.config.remote)
    except CommandError:
        return None
    tag = rollback_tag(ctx)
    sha = remote.get(f"refs/tags/{tag}^{{}}") or remote.get(f"refs/tags/{tag}")
    if sha is not None:
        return RolledBack(tag, f"{tag} on {ctx.config.remote}", _target(ctx, remote, sha))
    if ctx.github is None or f"refs/tags/{ctx.tag}" not in remote:
        return None
    try:
        release = ctx.github.release_for_tag(ctx.tag)
    except ReleaseError:  # GitHub unreachable: the tag above is what decides then
        return None
    if release is not None and release.name.endswith(ROLLED_BACK):
        return RolledBack(tag, f"GitHub release {ctx.tag} marked {ROLLED_BACK}", None)
    return None


def _way_forward(ctx: ReleaseContext) -> str:
    from ..cadence import suggested_release
    from ..version import parse_current_version

    current = parse_current_version(ctx.config.current_version)
    version, _ = suggested_release(ctx.repo, current, ctx.config.tag_prefix)
    return f"inv release --version {version}"


def refuse_rolled_back(ctx: ReleaseContext) -> None:
    """Refuse (exit 3, nothing changed) a release of a version that was rolled back."""
    gone = rolled_back_release(ctx)
    if gone is None:
        return
    to = f" to {gone.target}" if gone.target else ""
    raise ConflictError(
        f"{ctx.tag} was rolled back{to} ({gone.seen}): no step of it runs again; fix forward "
        f"with a new version: {_way_forward(ctx)}"
    )


def _deployment(ctx: ReleaseContext, gone: RolledBack) -> list[str]:
    """Where the deployment stands: the rollback's image tag and the manifests on main."""
    found = []
    if ctx.config.image and gone.target is not None:
        try:
            mine, theirs = ctx.registry.digest(gone.tag), ctx.registry.digest(gone.target)
        except ReleaseError as exc:
            found.append(f"image {gone.tag}: unknown ({exc.message})")
        else:
            if mine is not None and mine == theirs:
                found.append(f"image {gone.tag} = {gone.target} ({mine[:19]})")
            else:
                found.append(f"image {gone.tag}: not {gone.target}'s in the registry")
    if ctx.config.deploy_manifests and ctx.config.image:
        stale = stale_manifests(ctx, ctx.config.main_branch, gone.tag)
        on = "do not name" if stale else "name"
        found.append(f"manifests on {ctx.config.main_branch} {on} {gone.tag}")
    return found


def as_rolled_back(ctx: ReleaseContext, outcomes: list[Outcome]) -> list[Outcome]:
    """*outcomes* (``release.status``'s rows) as a rolled-back release shows them: nothing
    pending, the rollback's own row first; unchanged for a release never rolled back."""
    gone = rolled_back_release(ctx)
    if gone is None:
        return outcomes
    issue = root_cause_issue(ctx) if ctx.github is not None else None
    said = [f"to {gone.target}" if gone.target else "", gone.seen, *_deployment(ctx, gone)]
    said.append(f"root cause: {issue.html_url}" if issue is not None else "root cause: no issue")
    said.append(f"next: {_way_forward(ctx)}")
    row = Outcome("rolled-back", "Rolled back", Status.ROLLED_BACK, "; ".join(s for s in said if s))
    held = (Status.PENDING, Status.CONFLICT)
    rows = [
        replace(o, status=Status.ROLLED_BACK, detail=f"never runs again ({o.detail})")
        if o.status in held
        else o
        for o in outcomes
    ]
    return [row, *rows]
