"""The outside systems a release talks to, one module (or package) each.

Each is a :class:`Remote` that says, in one place, everything the rest of the engine needs to
know of it: its part of ``[tool.release]`` (:attr:`Remote.settings`, which the schema, the
settings' defaults and ``--set`` are made of), the environment variables it reads (every one
a secret unless it says otherwise, so output redacts them), what it lacks before a run,
how its client opens or why it is skipped, how preflight reaches it, the steps it adds, and
the stand-in a rehearsal swaps it for. ``config``, ``context``, ``reach``, the channels check,
``rehearsal`` and the tests' environment loop over :func:`remotes` and name no system.

Adding a system is one module here (a package: its ``remote`` module) whose ``REMOTE`` names
its class; :func:`remotes` finds it, in the order of :attr:`Remote.order`. An announcer is a
:class:`.announce.Channel`, whose protocol sends each message at most once. The git remote is the
engine's spine rather than one of these: every step reads it (:mod:`release_engine.tools.git`).
(Anchors: python-semantic-release's ``hvcs/``, one class per forge; pip's ``vcs`` registry.)

A system's module is imported when a command first loops over the remotes, and its client
library only where that client opens.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..config import Credentials, ReleaseConfig
    from ..context import Options, ReleaseContext
    from ..plan import Step
    from ..spec import Spec
    from ..version import Version
    from .announce import Channel

__all__ = ["Check", "Rehearsing", "Remote", "announcers", "remotes"]

#: A reach probe: None when the remote can be written, else one line saying why not.
Check = Callable[[], "str | None"]


@dataclass
class Rehearsing:
    """What a rehearsal gathers from each remote's stand-in: the settings that point the
    release at it and the credentials it accepts (as the environment would hold them)."""

    work: Path
    version: Version
    config: ReleaseConfig  # the project's own, before the swap
    options: Options
    namespace: str = ""  # a path inside a shared stand-in (a registry), so rehearsals share it
    settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # remote -> why it has no stand-in


class Remote:
    """One outside system. Every method has the answer of a system that needs nothing."""

    #: Its name in reports, reach problems and the rehearsal's stand-ins (``stand_ins().name``).
    name: ClassVar[str]
    #: Where it comes among the remotes: its probes, its steps (an announcer's), its stand-in.
    order: ClassVar[int]
    #: Its ``[tool.release]`` keys: type, default and the words of a wrong value.
    settings: ClassVar[dict[str, Spec]] = {}
    #: The modules its rehearsal stand-in imports (the ``rehearsal`` dependency group).
    stand_in_needs: ClassVar[tuple[str, ...]] = ()
    #: Environment variables it reads that are not secrets (a user name).
    public: ClassVar[frozenset[str]] = frozenset()

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        """The environment variables it reads, first to last in preference."""
        return ()

    def logins(self, credentials: Credentials) -> list[tuple[str, str]]:
        """The (user, password) logins it sends as HTTP Basic: their header is a secret too."""
        return []

    def invalid(self, config: ReleaseConfig) -> str | None:
        """What its settings refuse together, in one line (each alone is the schema's)."""
        return None

    def missing(self, config: ReleaseConfig, credentials: Credentials) -> list[str]:
        """One line per credential or setting it needs for this run and lacks."""
        return []

    def open(self, ctx: ReleaseContext) -> None:
        """Open its client on *ctx*, or note there why it is skipped."""

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        """Reads or logins that tell whether the run will be able to write to it."""
        return {}

    def release_steps(self) -> tuple[Step, ...]:
        """Steps it adds after the release's own (announcers), in :attr:`order`."""
        return ()

    def rollback_steps(self) -> tuple[Step, ...]:
        """Steps it adds after the rollback's own."""
        return ()

    def stand_in(self, stack: ExitStack, workdir: Path) -> object | None:
        """Start its rehearsal stand-in (stopped by *stack*); None: it has none."""
        return None

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        """Point the rehearsal at *stand_in* (None: it could not start): settings, credentials
        and options into *rehearsing*."""

    def rehearsed(self, ctx: ReleaseContext, rehearsing: Rehearsing) -> None:
        """Tell the rehearsal's opened context what :meth:`rehearse` found."""


@cache
def remotes() -> tuple[Remote, ...]:
    """Every remote of this package: each module's (or package's ``remote`` module's)
    ``REMOTE``, made once, in :attr:`Remote.order`."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        name = f"{__name__}.{module.name}" + (".remote" if module.ispkg else "")
        kind = getattr(importlib.import_module(name), "REMOTE", None)
        if kind is not None:
            found.append(kind())
    return tuple(sorted(found, key=lambda remote: remote.order))


def announcers() -> Iterator[Channel]:
    """The remotes that tell people of a release: the channels ``required_channels`` names."""
    from .announce import Channel  # it builds on Remote, above

    return (r for r in remotes() if isinstance(r, Channel))
