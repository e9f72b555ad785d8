"""What a commit's history says, remembered by content: the walks a long history makes slow.

Two questions of every preflight walk a history back to the previous release: whether the
base branch contains the previous release's tag (``git merge-base --is-ancestor``), and which
commits the released one brings that no release tag holds (``git rev-list SHA --not TAGS``).
On 10,000 commits and 1,000 tags each walk is tens of milliseconds, on every dry run.

Their answers depend only on the commits named, by their ids: a commit id is a hash of the
commit and, through its parents' ids, of its whole history. So an answer found once is kept
in the user's cache directory (``$XDG_CACHE_HOME/release-engine/history``, else
``~/.cache/…``), under a key made of the question and the commit ids it names (the tags' own
commits, not their names: a tag moved is another key). The next dry run, or the release after
it, reads the file. Not kept where git would answer differently for the same ids: a shallow
clone (its history is cut, and can grow) and a repository with replacement objects
(``git replace``) or grafts. A cache of what git says, as :mod:`.bump`'s, not a record of
the release: a machine without it asks git once.
"""

from __future__ import annotations

__all__ = ["contains", "remembered", "walk"]

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from ..proc import memoized
from . import usercache
from .git import Git


def _rewritten(git: Git) -> bool:
    """Whether git may answer differently for the same commit ids in this clone."""

    def look() -> bool:
        git_dir = Path(git.read("rev-parse", "--git-common-dir"))
        git_dir = git_dir if git_dir.is_absolute() else git.path / git_dir
        if (git_dir / "shallow").exists() or (git_dir / "info" / "grafts").exists():
            return True
        return any(Path(git_dir, "refs", "replace").glob("*")) or "refs/replace/" in (
            Path(git_dir, "packed-refs").read_text(errors="replace")
            if Path(git_dir, "packed-refs").exists()
            else ""
        )

    return memoized(("history-rewritten", str(git.path)), look)


def remembered(git: Git, question: str, ids: Sequence[str], ask: Callable[[], str]) -> str:
    """*ask*'s answer to *question* about the commits *ids*, kept under their ids."""
    if _rewritten(git):
        return ask()
    key = hashlib.sha256("\0".join([question, *ids]).encode()).hexdigest()[:40]
    path = usercache.folder("history") / f"{question}-{key}"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    answer = ask()
    usercache.write_whole(path, answer)
    return answer


def contains(git: Git, descendant: str, ancestor: str) -> bool:
    """Whether the commit *descendant* has the commit *ancestor* in its history (both ids)."""
    answer = remembered(
        git,
        "contains",
        [descendant, ancestor],
        lambda: "yes" if git.is_ancestor(ancestor, descendant) else "no",
    )
    return answer == "yes"


def walk(git: Git, sha: str, excluded: Sequence[str], *log_format: str) -> str:
    """``git rev-list --topo-order LOG_FORMAT SHA ^EXCLUDED…``: the commits of *sha* that
    none of the commits *excluded* holds, each with *log_format* (ids, all of them)."""
    exclude = [f"^{commit}" for commit in excluded]
    return remembered(
        git,
        "walk",
        [sha, *log_format, "--", *sorted(set(excluded))],
        lambda: git.read("rev-list", "--topo-order", *log_format, sha, *exclude),
    )
