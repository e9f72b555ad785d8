"""The user's cache directory, where the engine keeps what it can find out again.

Every answer kept here is keyed by what decides it (commit ids, file contents, the tool's
version), as pip's and pre-commit's caches are: it is never a record of a release, a machine
without it asks again, and deleting it changes nothing but the time a command takes. It is
``$XDG_CACHE_HOME/release-engine``, else ``~/.cache/release-engine``, outside every clone
(a dry run leaves the clone as it was).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["folder", "write_whole"]


def folder(name: str) -> Path:
    """The cache's folder *name* (not created: the first write makes it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "release-engine" / name


def write_whole(path: Path, text: str) -> None:
    """Write *text* to *path* whole or not at all (another run may read it at any moment);
    a cache that cannot be written (a read-only home) is asked again next time, not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        staged.write_text(text, encoding="utf-8")
        staged.replace(path)
    except OSError:
        pass
