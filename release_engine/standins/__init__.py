"""Local stand-ins for the outside world, used by rehearsals and tests.

Their libraries (each remote names its stand-in's: :attr:`release_engine.remotes.Remote.
stand_in_needs`) are the ``rehearsal`` dependency group of pyproject.toml, not the ``release``
group: a real release installs no test server. :func:`require` says so in one line, before a
rehearsal starts anything, when they are missing; importing this package alone imports none of
them.
"""

from __future__ import annotations

from importlib.util import find_spec

from ..errors import UsageError

__all__ = ["INSTALL", "missing", "modules", "require"]

#: How the ``rehearsal`` group is installed into the running Python, from uv.lock.
INSTALL = "bash scripts/install-locked rehearsal"


def modules() -> tuple[str, ...]:
    """The modules the stand-ins import, each from a distribution of the ``rehearsal`` group."""
    from ..remotes import remotes

    return tuple(dict.fromkeys(name for r in remotes() for name in r.stand_in_needs))


def missing() -> list[str]:
    """The modules of :func:`modules` this Python cannot import (found, not imported)."""
    return [name for name in modules() if find_spec(name) is None]


def require() -> None:
    """Refuse, in one line, a rehearsal whose stand-ins cannot start for lack of a library."""
    absent = missing()
    if absent:
        names = ", ".join(repr(name) for name in absent)
        raise UsageError(
            f"the rehearsal's stand-ins are not installed (no module named {names}): run {INSTALL}"
        )
