"""Preflight's reach: every remote the plan will write, reached with its credentials first.

A wrong index password, a GitHub token that gets 401 or may not push, a registry login
without push scope, an unreachable webhook or mail server: each would otherwise be found
after the tag and main were pushed. Each remote says how it is reached
(:meth:`release_engine.remotes.Remote.probes`): a read or a login that writes nothing, so it is
as safe in a dry run. They run side by side, and each problem is one line naming the remote
and the credential.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from .errors import ReleaseError
from .remotes import remotes

if TYPE_CHECKING:
    from .context import ReleaseContext
    from .remotes import Check

__all__ = ["reach", "reach_problems"]


def reach_problems(ctx: ReleaseContext) -> list[str]:
    """What stops the plan from writing to one of its remotes, one line each."""
    return list(reach(ctx).values())


def reach(ctx: ReleaseContext) -> dict[str, str]:
    """The same, by probe (``github``, ``index``, ``registry``, ``webhook N``, ``mail`` …):
    preflight asks no more of a remote it could not reach."""
    checks: dict[str, Check] = {}
    for remote in remotes():
        checks |= remote.probes(ctx)
    if not checks:
        return {}
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        found = dict(zip(checks, pool.map(_safely, checks.values()), strict=True))
    return {name: problem for name, problem in found.items() if problem}


def _safely(check: Check) -> str | None:
    try:
        return check()
    except ReleaseError as exc:
        return str(exc).splitlines()[0]
