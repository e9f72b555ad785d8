"""Planted secrets, looked for everywhere a release leaves text behind.

Every credential of a world is a random string (the GitHub token, the index password, the
registry password, the webhook URL's secret path, the SMTP password), so any occurrence of one
outside the servers that hold it is a leak. :func:`scan` looks in everything each ``inv``
printed (the ``--json`` report included), the command lines of the release's processes while
they ran, every file of every clone (work tree, ``.git/`` and the state directory), and every
git object of the clones and of the remote, decompressed.
"""

from __future__ import annotations

__all__ = ["forms", "scan"]

import base64
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .world import World


def forms(world: World) -> dict[bytes, str]:
    """Each secret as it could appear (raw, and inside a Basic header) -> which one it is."""
    s = world.s
    names = ["GitHub token", "index password", "webhook path", "SMTP password", "registry password"]
    found = {v.encode(): n for v, n in zip(world.secrets(), names, strict=False) if v}
    logins = [(s.index.username, s.index.password, "index Basic login")]
    if s.registry is not None:
        logins.append((s.registry.username, s.registry.password, "registry Basic login"))
    for user, password, name in logins:
        found[base64.b64encode(f"{user}:{password}".encode()).rstrip(b"=")] = name
    return found


def _objects(repo: Path) -> bytes:
    proc = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                          capture_output=True, check=False)  # fmt: skip
    return proc.stdout


def _files(root: Path) -> Iterable[tuple[str, bytes]]:
    for folder, _dirs, names in os.walk(root):
        if f"{os.sep}objects" in folder and ".git" in folder:
            continue  # compressed: read through git cat-file instead
        for name in names:
            path = Path(folder, name)
            try:
                if path.is_file() and path.stat().st_size < 20_000_000:
                    yield str(path.relative_to(root)), path.read_bytes()
            except OSError:
                continue


def scan(world: World) -> list[str]:
    """Where a secret of *world* was found: one line each."""
    secrets = forms(world)
    found: list[str] = []

    def look(where: str, data: bytes) -> None:
        for secret, name in secrets.items():
            if secret in data:
                found.append(f"{name} in {where}")

    for n, run in enumerate(world.runs, 1):
        look(f"output of run {n} ({' '.join(run.argv[:3])})", run.output.encode())
        look(f"a command line of run {n}", "\n".join(sorted(set(run.cmdlines))).encode())
    for clone in world.clones:
        if not clone.is_dir():
            continue
        for rel, data in _files(clone):
            look(f"{clone.name}/{rel}", data)
        if (clone / ".git").is_dir():
            look(f"git objects of {clone.name}", _objects(clone))
    look("git objects of the remote", _objects(world.remote))
    return sorted(set(found))
