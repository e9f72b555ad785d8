"""Every stakeholder channel the project requires is configured, with its credential.

The release process tells people of a release through its announcers
(:mod:`release_engine.remotes`: a message to the team, the release notes by email to customers,
and any other channel configured). ``required_channels`` in ``[tool.release]`` says which of
them a release of this project must reach; one not configured would be skipped after
publishing, and nobody told. Refused here instead, unless ``--skip-channels`` waives it
(printed). A dry run, which sends nothing, notes what a run would lack: the job that checks
a release on CI holds no channel secret. What each channel needs is its own to say
(:meth:`release_engine.remotes.announce.Channel.lacking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..remotes import announcers

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from . import Findings

__all__ = ["check", "lacking"]


def lacking(ctx: ReleaseContext) -> list[str]:
    """One line per required channel that is not configured with its credential."""
    required = ctx.config.required_channels
    found = [
        channel.lacking(ctx.config, ctx.credentials)
        for channel in announcers()
        if channel.channel in required
    ]
    return [line for line in found if line]


def check(ctx: ReleaseContext, found: Findings) -> None:
    if not ctx.config.required_channels:
        return
    if ctx.options.skip_channels:
        found.notes.append(
            f"required channels check skipped (--skip-channels): "
            f"{', '.join(ctx.config.required_channels)} may not be told"
        )
        return
    missing = lacking(ctx)
    if found.dry_run:
        found.notes += [f"a release would be refused: {line}" for line in missing]
    else:
        found.problems += missing
