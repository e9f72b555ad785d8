"""Settle a clone that a killed run left in the middle of one of its own git operations.

A release or rollback stopped by SIGKILL (a closed laptop, a cancelled CI job, an OOM kill)
can leave git half-way: a ``.git/index.lock`` nobody holds any more, a ``git merge`` of this
release begun but not committed (``MERGE_HEAD``), a rollback's revert left in its temporary
worktree, or main's work tree already moved to the rollback's commit while main itself was
not. Before anything is checked, the next run of the same command recognises what is its own
and puts it back to a state its steps observe correctly: an unfinished merge of this release's
branch or tag is aborted (the merge step then does it again, whole), a revert is finished.
What is not this release's own — a merge of something else, a cherry-pick, a rebase — is left
exactly as it is and named in one line.

Only one run works in a clone at a time (:func:`~release_engine.context.release_lock` is held
around this), so a lock file no live git process holds is one a killed run left.
"""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from .errors import PreflightError

if TYPE_CHECKING:
    from .context import ReleaseContext
    from .tools.git import Git

__all__ = ["REVERT_REF", "WORKTREES", "settle"]

#: Where a rollback builds its revert commit, away from the maintainer's work tree.
WORKTREES = "release-worktrees"
#: The local ref a rollback's revert commit is kept under until main has it.
REVERT_REF = "refs/release/revert"
#: Other operations in progress that no step of ours starts, with what to run about each.
_FOREIGN = {
    "REVERT_HEAD": "a git revert is in progress: finish it or run git revert --abort",
    "CHERRY_PICK_HEAD": "a git cherry-pick is in progress: finish it or run "
    "git cherry-pick --abort",
    "rebase-merge": "a git rebase is in progress: finish it or run git rebase --abort",
    "rebase-apply": "a git rebase or am is in progress: finish it or run git rebase --abort",
}
_LOCK_AGE = 2.0  # seconds: a lock file younger than this may belong to a git still running


def settle(ctx: ReleaseContext) -> list[str]:
    """Put back what a killed run of this release left half-done in the clone; the notes.

    Raises :class:`PreflightError` for an operation in progress that is not this release's.
    """
    git, notes = ctx.git, []
    git_dir = git.git_dir()
    lock = git_dir / "index.lock"
    if lock.exists() and time.time() - lock.stat().st_mtime > _LOCK_AGE:
        lock.unlink(missing_ok=True)
        notes.append("removed .git/index.lock, left by a git command that was killed")
    if (git_dir / WORKTREES).exists():
        left = any((git_dir / WORKTREES).iterdir())  # empty: a finished rollback's, kept before
        shutil.rmtree(git_dir / WORKTREES, ignore_errors=True)
        git("worktree", "prune")
        if left:
            notes.append("removed the temporary worktree of a rollback that was killed")
    problems = [why for name, why in _FOREIGN.items() if (git_dir / name).exists()]
    merging = git.rev("MERGE_HEAD")
    if merging is not None:
        if merging in _own_commits(ctx):
            git("merge", "--abort")
            notes.append(f"aborted the unfinished merge of {ctx.tag} a killed run left; done again")
        else:
            problems.append(
                f"a git merge of {merging[:12]} is in progress, not this release's: "
                "finish it (git commit) or run git merge --abort"
            )
    if problems:
        raise PreflightError(problems)
    if _finish_revert(git, ctx.config.main_branch):
        notes.append(f"finished moving {ctx.config.main_branch} to the rollback's revert commit")
    return notes


def _own_commits(ctx: ReleaseContext) -> set[str]:
    """What a merge of this release merges: its branch's tip, its tag's commit."""
    return {c for c in (ctx.git.rev(ctx.release_branch), ctx.git.rev(ctx.tag)) if c}


def _finish_revert(git: Git, main: str) -> bool:
    """Complete main's fast-forward to the rollback's revert commit when a kill stopped it
    with the work tree already there: every changed file as the revert commit has it."""
    revert = git.rev(REVERT_REF)
    if revert is None:
        return False
    head = git.rev("HEAD")
    if head == revert or git.current_branch() != main:
        git("update-ref", "-d", REVERT_REF)
        return False
    if git.read("rev-parse", f"{revert}^") != head:
        git("update-ref", "-d", REVERT_REF)  # main moved on: the revert is built again
        return False
    changed = {line[3:] for line in git.status_porcelain()}
    if not changed:
        return False  # nothing moved yet: the revert step moves main itself
    target = set(git.read("diff", "--name-only", head, revert).splitlines())
    if not changed <= target or not git.ok("diff", "--quiet", revert, "--", *changed):
        return False  # changes of someone else's: preflight names them
    git("reset", "--quiet", "--hard", revert)  # loses nothing: the tree is the revert's
    git("update-ref", "-d", REVERT_REF)
    return True
