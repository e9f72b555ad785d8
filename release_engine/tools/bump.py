"""The version files, moved by bump-my-version as ``[tool.bumpversion]`` describes them.

A release's preflight asks bump-my-version for a dry run to the new version: it fails when a
version file does not carry the current version where ``[tool.bumpversion]`` says. That run
is a process of its own, most of a second, and its answer depends only on the files it reads
and bump-my-version itself: :func:`dry_run_refusal` remembers a success in the user's cache
directory (``$XDG_CACHE_HOME/release-engine/checks``, else ``~/.cache/…``), keyed by the
bytes of pyproject.toml and of every version file its ``[tool.bumpversion]`` names, the
command and bump-my-version's version. A dry run repeated while preparing a release, the
release after it, or another clone or commit of the same files then does not ask again;
anything that could change the answer (an edited version file or setting, another
bump-my-version) is another key, asked for real. Where bump-my-version may read other files
(a ``.bumpversion.toml``, ``.bumpversion.cfg`` or ``setup.cfg``, a ``glob`` entry), the key is
the commit instead, and only a clean work tree is remembered. A failure is never remembered.
It is a cache of a check, as pip's or pre-commit's, not a record of the release: it is outside
the clone (a dry run leaves the clone as it was), and a machine without it asks once.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from importlib import metadata
from pathlib import Path

from ..proc import Command, read
from ..rules import bumpversion_table
from . import usercache
from .git import Git

__all__ = ["bump_command", "dry_run_refusal", "known_good"]


def bump_command(repo: Path, version: str, *, dry_run: bool = False) -> Command:
    """``bump-my-version bump --new-version VERSION`` in *repo* (``--dry-run``: change nothing)."""
    argv = [sys.executable, "-m", "bumpversion", "bump"]
    argv += ["--dry-run"] if dry_run else []
    return Command.of(*argv, "--allow-dirty", "--new-version", version, cwd=repo)


@functools.cache
def _tool_version() -> str | None:
    """bump-my-version's installed version (asked once: finding it scans every distribution)."""
    try:
        return metadata.version("bump-my-version")
    except metadata.PackageNotFoundError:
        return None


#: bump-my-version's own configuration files, read before pyproject.toml when present.
_OTHER_CONFIGS = (".bumpversion.toml", ".bumpversion.cfg", "setup.cfg")


def _read_files(repo: Path) -> str | None:
    """A digest of what bump-my-version reads in *repo*: pyproject.toml and each version file
    its ``[tool.bumpversion]`` names. None when it may read others (see the module)."""
    if any((repo / name).exists() for name in _OTHER_CONFIGS):
        return None
    try:
        settings = (repo / "pyproject.toml").read_bytes()
        entries = bumpversion_table(settings.decode()).get("files", [])
    except (OSError, ValueError):  # unreadable or not TOML: bump-my-version will say so
        return None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and "filename" in e for e in entries
    ):
        return None  # a glob matches files this list does not name
    digest = hashlib.sha256(settings)
    for name in sorted({str(e["filename"]) for e in entries}):
        digest.update(f"\0{name}\0".encode())
        try:
            digest.update(hashlib.sha256((repo / name).read_bytes()).digest())
        except OSError:
            digest.update(b"absent")
    return digest.hexdigest()


def _marker(git: Git, command: Command) -> Path | None:
    """Where a success of *command* here is remembered; None when it cannot be (keyed by the
    commit, a dirty tree: the answer may change with the next edit)."""
    tool = _tool_version()
    if tool is None:
        return None
    content = _read_files(Path(command.cwd)) if command.cwd is not None else None
    if content is None:
        head = git.rev("HEAD")
        if head is None or git.status_porcelain():
            return None
        content = f"commit {head}"
    words = [content, tool, *command.argv[1:]]  # the interpreter's path is not the answer's
    key = hashlib.sha256("\0".join(words).encode()).hexdigest()[:32]
    return usercache.folder("checks") / f"bump-dry-run-{key}"


def known_good(git: Git, command: Command) -> bool:
    """Whether the dry run *command* succeeded here before, on this very content."""
    marker = _marker(git, command)
    return marker is not None and marker.exists()


def dry_run_refusal(git: Git, command: Command) -> str | None:
    """Why bump-my-version's dry run *command* fails (its last line), or None when it would
    work: remembered for a clean tree once it worked (see the module's docstring)."""
    marker = _marker(git, command)
    if marker is not None and marker.exists():
        return None
    proc = read(command.argv, cwd=command.cwd)
    if proc.returncode == 0:
        if marker is not None:
            usercache.write_whole(marker, "")  # a read-only home: asked again next time
        return None
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"
