"""One release at a time across machines: a lock held on the remote, ``refs/release/lock``.

A lock file in one clone stops a second run in that clone only; two clones, or a laptop and a
CI runner, would both start, and the loser would fail at its push or upload having tagged and
merged locally. So before its first change a run pushes a lock to the remote that every clone
pushes to, and removes it at the end (also when it fails: the resume may come from anywhere).

The lock is a commit object with an empty tree and no parent, whose message says who holds it
(host, process, CI run), for what (``release v1.2.3``), since when and until when. Taking it
is ``git push --force-with-lease=refs/release/lock:`` (the ref must not exist: git's own
compare-and-swap on the server, so two runs racing cannot both win); taking over a dead run's
lock leases the sha that was read; releasing deletes the ref only if it still holds our sha.
No server feature beyond a plain push is needed, so it works on GitHub, a bare repository and
everything between. Why not hand-written elsewhere: git already is the one service every clone
can reach and write atomically; a lock service of our own would be one more thing to run.

Whose lock a run may take over without asking: its own, left by a run that was killed — on
this machine (same boot, the process is gone) or in the same GitHub Actions run (a "re-run
failed jobs" keeps ``GITHUB_RUN_ID``). Any other holder refuses the run with one line naming
it; a lock past its expiry is reported as stale with the command that breaks it.
"""

from __future__ import annotations

__all__ = ["LOCK_REF", "Holder", "RemoteLock", "read_holder"]

import getpass
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import CommandError, ConflictError, ReleaseError
from .tools.git import Git
from .tools.records import data_commit

LOCK_REF = "refs/release/lock"
#: How long a lock holds before it is reported as stale. A release waits for CI (bounded) and
#: builds an image; two hours is far beyond either, and a stale lock is only ever *reported*.
TTL_SECONDS = 2 * 60 * 60
_SUBJECT = "release lock"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22);
    "" when there is no such process, or only its zombie: a process killed with its parent
    (``timeout --signal=KILL``) waits unreaped where nothing reaps orphans, a container
    without an init among them, but it is gone all the same."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return "" if fields[0] in ("Z", "X") else fields[19]


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, for what, and until when."""

    what: str  # "release v1.2.3"
    user: str
    host: str
    boot: str
    pid: int
    started: str  # the process's start time, so a reused pid is not taken for it
    ci_run: str  # GITHUB_RUN_ID, "" outside GitHub Actions
    since: int
    expires: int

    @classmethod
    def me(cls, what: str, now: float | None = None) -> Holder:
        now = int(time.time() if now is None else now)
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
        return cls(
            what=what,
            user=user,
            host=socket.gethostname(),
            boot=_boot_id(),
            pid=os.getpid(),
            started=_start_time(os.getpid()),
            ci_run=os.environ.get("GITHUB_RUN_ID", "") if in_actions else "",
            since=now,
            expires=now + TTL_SECONDS,
        )

    def describe(self) -> str:
        where = (
            f"CI run {self.ci_run}" if self.ci_run else f"{self.user}@{self.host} pid {self.pid}"
        )
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.since))
        return f"{self.what} by {where} since {since}"

    def is_dead_run_of(self, me: Holder) -> bool:
        """True when this holder is a run that *me* may take over: the same CI run (a re-run
        of its failed jobs), or a process of this machine that is gone."""
        if self.ci_run:
            return self.ci_run == me.ci_run
        if (self.host, self.boot) != (me.host, me.boot) or not self.boot:
            return False
        if self.pid == me.pid and self.started == me.started:
            return True  # this very process: a lock it left behind earlier
        return _start_time(self.pid) != self.started  # "" when the process is gone


def _parse(message: str) -> Holder | None:
    subject, _, body = message.partition("\n")
    if subject.strip() != _SUBJECT:
        return None
    try:
        data = json.loads(body)
        return Holder(**{k: data[k] for k in Holder.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        return None


def read_holder(git: Git, remote: str) -> tuple[str, Holder | None] | None:
    """``(sha, holder)`` of the lock on *remote*, or None when no run holds it. *holder* is
    None when the ref is there but is not a lock this engine wrote."""
    try:
        refs = git.remote_refs(remote)
    except CommandError as exc:
        said = [line.strip() for line in exc.output.splitlines() if line.strip()]
        first = said[0].rpartition("fatal: ")[2] if said else "no answer"
        raise ReleaseError(
            f"cannot read the remote {remote!r}: {first.rstrip('.')}; check the remote and "
            "your access to it"
        ) from None
    sha = refs.get(LOCK_REF)
    if sha is None:
        return None
    git.read("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, LOCK_REF)
    message = git.read("cat-file", "commit", sha, check=False).partition("\n\n")[2]
    return sha, _parse(message)


class RemoteLock:
    """The lock for *what* on *remote* of the repository *git*."""

    def __init__(self, git: Git, remote: str, what: str) -> None:
        self.git, self.remote, self.what = git, remote, what
        self.me = Holder.me(what)
        self.sha: str | None = None

    def check(self) -> None:
        """Raise :class:`ConflictError` when another run holds the lock; change nothing."""
        found = read_holder(self.git, self.remote)
        if found is not None:
            self._refuse_unless_ours(*found)

    def acquire(self) -> None:
        """Push our lock; refused with one line when another run holds it."""
        found = read_holder(self.git, self.remote)
        lease = ""
        if found is not None:
            self._refuse_unless_ours(*found)
            lease = found[0]  # a dead run of ours: take it over, if nobody else did meanwhile
        sha = self._write()
        try:
            self.git(
                "push", "--quiet", "--porcelain", f"--force-with-lease={LOCK_REF}:{lease}",
                self.remote, f"{sha}:{LOCK_REF}",
            )  # fmt: skip
        except CommandError as exc:
            again = read_holder(self.git, self.remote)
            if again is not None and again[0] != sha:
                self._refuse_unless_ours(*again, racing=True)
            raise ReleaseError(
                f"could not take the release lock {LOCK_REF} on {self.remote}: "
                f"{exc.output.strip().splitlines()[-1] if exc.output.strip() else exc}"
            ) from None
        self.sha = sha

    def release(self) -> None:
        """Delete the lock if it is still ours; a lock someone broke and took stays theirs."""
        if self.sha is None:
            return
        self.git(
            "push", "--quiet", f"--force-with-lease={LOCK_REF}:{self.sha}",
            self.remote, f":{LOCK_REF}", check=False,
        )  # fmt: skip
        self.sha = None

    def take_text(self) -> str:
        """What :meth:`acquire` writes, as a dry run shows it and a run's trace notes it."""
        return (
            f"git push --force-with-lease={LOCK_REF}:<the lock read, if a dead run of ours "
            f"left it> {self.remote} <lock commit>:{LOCK_REF} (take the lock: {self.what})"
        )

    def release_text(self) -> str:
        """What :meth:`release` writes, as a dry run shows it and a run's trace notes it."""
        return (
            f"git push --force-with-lease={LOCK_REF}:<lock commit> {self.remote} :{LOCK_REF} "
            f"(release the lock: {self.what})"
        )

    def _write(self) -> str:
        """The lock commit: an empty tree, no parent, the holder in the message."""
        return data_commit(self.git, f"{_SUBJECT}\n\n{json.dumps(asdict(self.me), indent=1)}\n")

    def _refuse_unless_ours(self, sha: str, holder: Holder | None, racing: bool = False) -> None:
        breaker = f"git push {self.remote} --delete {LOCK_REF}"
        if holder is None:
            raise ConflictError(
                f"{LOCK_REF} on {self.remote} is not a release lock this engine wrote "
                f"(commit {sha[:12]}): look at it, and if nothing holds it: {breaker}"
            )
        if not racing and holder.is_dead_run_of(self.me):
            return
        if holder.expires < time.time():
            raise ConflictError(
                f"stale release lock on {self.remote}: {holder.describe()}, expired; if that "
                f"run is gone, break the lock with: {breaker}"
            )
        raise ConflictError(
            f"another release holds the lock on {self.remote}: {holder.describe()}; wait for "
            f"it to finish (if that run is gone, break the lock with: {breaker})"
        )
