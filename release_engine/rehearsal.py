"""Rehearsal: the real release, run in a throwaway clone against local stand-ins.

Each remote's stand-in is started (:meth:`release_engine.remotes.Remote.stand_in`: a real
package index, a real container registry, a GitHub API stand-in, webhook receivers, a mail
server), the repository is cloned to a bare git remote, and the very same engine releases the
clone. The user's
repository, remotes and accounts are never touched.

A rehearsal swaps each remote for its stand-in and changes nothing else: the steps that run,
the links CHANGELOG.md gets (the project's repository, :attr:`ReleaseContext.published_at`)
and the messages are those of the project's own ``[tool.release]``; a remote the project does
not configure stays unconfigured in its rehearsal. ``tests/engine/test_rehearsal_is_release.py``
compares a rehearsal with a run of the project's configuration pointed at the stand-ins.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .config import Credentials, Setting, load_config
from .context import Options, ReleaseContext
from .engine import open_release
from .proc import run
from .redact import Secrets
from .remotes import Rehearsing, remotes
from .tools.git import Git
from .version import Version

__all__ = [
    "StandIns",
    "clone_for_rehearsal",
    "rehearsal_context",
    "stand_ins",
]


class StandIns:
    """The running stand-in of each remote, by the remote's name (``s.github``, ``s.index``,
    ``s.registry``, ``s.notify``, ``s.email`` …); None for a remote whose stand-in could not
    start or was not wanted."""

    def __init__(self, running: dict[str, Any], namespace: str, reasons: dict[str, str]) -> None:
        self.running, self.namespace, self.reasons = running, namespace, reasons

    def messages(self) -> dict[str, int]:
        """How many messages each announcer's stand-in received (``received`` or, for mail,
        ``delivered``), by remote."""
        found = {}
        for name, running in self.running.items():
            got = getattr(running, "received", getattr(running, "delivered", None))
            if isinstance(got, list):
                found[name] = len(got)
        return found

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["running"][name]
        except KeyError:
            raise AttributeError(name) from None


@contextmanager
def stand_ins(
    workdir: Path,
    *,
    without: set[str] | frozenset[str] = frozenset(),
    given: dict[str, Any] | None = None,
    namespace: str = "",
) -> Iterator[StandIns]:
    """Start every remote's stand-in under *workdir*; stop them all on exit, whatever happened.

    A remote in *without* gets none (its steps skip, saying it was not wanted); a running
    stand-in in *given* is used (and not stopped here), so tests can share one; *namespace* is
    a path inside a shared one (a registry), so rehearsals can share it.
    """
    given = given or {}
    with ExitStack() as stack:
        running: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for remote in remotes():
            if remote.name in given:
                running[remote.name] = given[remote.name]
            elif remote.name in without:
                running[remote.name] = None
                reasons[remote.name] = f"{remote.name} steps not wanted"
            else:
                running[remote.name] = remote.stand_in(stack, workdir)
        yield StandIns(running, namespace, reasons)


def clone_for_rehearsal(source: Path, workdir: Path, main_branch: str = "main") -> Path:
    """A bare remote made from *source*, and a working clone of it whose origin is that remote.

    The remote hardlinks *source*'s objects (git's way with a local path; it copies them across
    file systems, and fetches them from a shallow *source*): objects never change, and packing
    the whole history anew, as ``--no-local`` did, cost 0.25 s of CPU on this project's
    one-commit copy, three times that on its own history.
    """
    remote, work = workdir / "remote.git", workdir / "work"
    run(["git", "clone", "--quiet", "--bare", str(source), str(remote)])
    run(["git", "clone", "--quiet", "--branch", main_branch, str(remote), str(work)])
    git = Git(work)
    if not git.ok("config", "user.email"):
        git("config", "user.email", "release-rehearsal@localhost")
        git("config", "user.name", "Release Rehearsal")
    return work


def rehearsal_context(
    work: Path,
    version: Version,
    s: StandIns,
    *,
    options: Options | None = None,
    secrets: Secrets | None = None,
    settings: dict[str, Setting] | None = None,
) -> ReleaseContext:
    """A release context for the clone at *work*, pointed at the stand-ins *s*.

    *settings* (``--set``) apply too, but every remote is the stand-ins', whatever they say:
    each remote points the rehearsal at its stand-in
    (:meth:`release_engine.remotes.Remote.rehearse`).
    """
    config = load_config(work).with_overrides(**(settings or {}))
    rehearsing = Rehearsing(work, version, config, options or Options(), s.namespace,
                            settings={**(settings or {}), "remote": "origin"},
                            reasons=dict(s.reasons))  # fmt: skip
    for remote in remotes():
        remote.rehearse(s.running.get(remote.name), rehearsing)
    ctx = open_release(
        work,
        version,
        overrides=rehearsing.settings,
        options=rehearsing.options,
        credentials=Credentials(rehearsing.environment),
        secrets=secrets,
    )
    for remote in remotes():
        remote.rehearsed(ctx, rehearsing)
    # The notes' links, as the real release writes them: into the project's own repository.
    ctx.published_at = (config.github_repository, config.github_api_url)
    ctx.resume_command = f"inv release --version {version} --rehearse"
    return ctx


@contextmanager
def workspace(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="release-rehearsal-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
