"""Local stand-ins for the outside world, used by rehearsals and tests.

Their libraries (pypiserver, aiosmtpd, libpass, PyJWT, cryptography) are the ``rehearsal``
dependency group of pyproject.toml, not the ``release`` group: a real release installs no test
server. :func:`require` says so in one line, before a rehearsal starts anything, when they are
missing; importing this package alone imports none of them.
"""

from __future__ import annotations

from importlib.util import find_spec

from ..errors import UsageError

__all__ = ["INSTALL", "MODULES", "missing", "require"]

#: The modules the stand-ins import, each from a distribution of the ``rehearsal`` group.
MODULES = ("pypiserver", "aiosmtpd", "passlib", "jwt", "cryptography")
#: How the ``rehearsal`` group is installed into the running Python, from uv.lock.
INSTALL = "bash scripts/install-locked rehearsal"


def missing() -> list[str]:
    """The modules of :data:`MODULES` this Python cannot import (found, not imported)."""
    return [name for name in MODULES if find_spec(name) is None]


def require() -> None:
    """Refuse, in one line, a rehearsal whose stand-ins cannot start for lack of a library."""
    absent = missing()
    if absent:
        names = ", ".join(repr(name) for name in absent)
        raise UsageError(
            f"the rehearsal's stand-ins are not installed (no module named {names}): run {INSTALL}"
        )
