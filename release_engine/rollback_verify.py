"""The rollback's final check: the release rolled back to is verified as ``inv release.verify``
verifies it (:mod:`release_engine.verify`).

A rollback redeploys the previous release, so that release is what runs from now on: its
files on the index, its GitHub assets and its image in the registry are checked against its
``SHA256SUMS``, its SBOM and each other, then its wheel and image are run and must answer its
version. A rollback whose steps are done but whose target does not verify is reported as a
failure in one line naming each problem (exit 1), with the command that checks again.
"""

from __future__ import annotations

__all__ = ["verify_rollback_target"]

from dataclasses import replace
from typing import TYPE_CHECKING

from . import trace
from .context import closing
from .errors import VerificationError
from .remotes.registry.container import ContainerEngine, detect_engine
from .steps.rollback_scope import target_of

if TYPE_CHECKING:
    from .context import ReleaseContext


def target_context(ctx: ReleaseContext) -> ReleaseContext:
    """A context for the release *ctx* rolls back to: the same remotes and credentials, the
    container engine to run its image (a rollback builds none, so it opened none)."""
    target = replace(ctx, version=target_of(ctx))
    if target.container is None and ctx.config.image:
        found = detect_engine(ctx.config.container_engine)
        target.container = ContainerEngine(found) if found else None
    return target


def verify_rollback_target(ctx: ReleaseContext, *, dry_run: bool = False) -> str:
    """Verify the release rolled back to, the published wheel and image run; a summary, or
    :class:`VerificationError` naming each problem. A dry run shows it (and its trace notes
    it, as the run's does: the commands the run makes belong to this one action)."""
    from .verify import verify_release

    target = target_context(ctx)
    line = (
        f"verify {target.tag}, the release rolled back to, as "
        f"inv release.verify --version {target.version} does (its wheel and image run)"
    )
    if dry_run:
        trace.note(line)
        return f"would {line}"
    with trace.performing(line), closing(target):  # its own registry login, if it made one
        found = verify_release(target)
    if found.problems:
        raise VerificationError(
            f"rolled back to {target.tag}, but what is published for it does not verify: "
            + "; ".join(found.problems)
            + f". Investigate, then check again with: inv release.verify --version {target.version}"
        )
    return f"rolled back to {target.tag}, verified: {', '.join(found.checked)}"
