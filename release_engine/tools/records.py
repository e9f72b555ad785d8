"""What a release did that no service can be asked about, recorded on the remote.

A webhook or a mail server cannot be asked what it received, so sending a message is the
one act whose being done must be written down. Written in one clone (``.git/release/``), the
record was lost to a rerun from another clone or CI runner, which then sent everything a
second time. So it lives where every clone looks: the remote, as
``refs/release/records/<tag>/<name>`` — a commit with an empty tree whose message holds the
record as JSON, each new record a child of the previous one. It is pushed with
``--force-with-lease`` on the sha that was read, so two runs cannot both record (the remote
lock already keeps them apart; this is git's own compare-and-swap behind it).

Why git and not the GitHub API (a release's body, a comment): the remote is the one service
every release has, a push is atomic, and a record that is a ref is read with the ``ls-remote``
the release makes anyway.
"""

from __future__ import annotations

__all__ = ["RECORDS", "Records", "data_commit"]

import json
from typing import Any

from ..errors import CommandError, ReleaseError
from ..proc import run
from .git import Git

RECORDS = "refs/release/records"
_SUBJECT = "release record"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "release-engine",
    "GIT_AUTHOR_EMAIL": "release-engine@localhost",
    "GIT_COMMITTER_NAME": "release-engine",
    "GIT_COMMITTER_EMAIL": "release-engine@localhost",
}


def data_commit(git: Git, message: str, parent: str | None = None) -> str:
    """A commit of *message* with an empty tree (and *parent*), written by the engine's own
    identity: how a record or the remote lock is stored. Bookkeeping, not a step's action, so
    its commands are not recorded as a step's writes."""
    tree = run(["git", "mktree"], cwd=git.path, input="", record=False).stdout.strip()
    argv = ["git", "commit-tree", tree, "-m", message, *(["-p", parent] if parent else [])]
    return run(argv, cwd=git.path, env=_IDENTITY, record=False).stdout.strip()


class Records:
    """The records of release *tag* on *remote*."""

    def __init__(self, git: Git, remote: str, tag: str) -> None:
        self.git, self.remote, self.tag = git, remote, tag
        self._seen: dict[str, str | None] = {}  # name -> the sha read last (the lease)

    def ref(self, name: str) -> str:
        return f"{RECORDS}/{self.tag}/{name}"

    def read(self, name: str) -> dict[str, Any] | None:
        """The record *name* as the remote holds it now, or None when there is none."""
        sha = self.git.remote_refs(self.remote).get(self.ref(name))
        self._seen[name] = sha
        if sha is None:
            return None
        if self.git.read("cat-file", "-t", sha, check=False) != "commit":
            self.git.read("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote,
                          self.ref(name))  # fmt: skip
        message = self.git.read("cat-file", "commit", sha).partition("\n\n")[2]
        subject, _, body = message.partition("\n\n")
        try:
            found = json.loads(body) if subject.strip() == _SUBJECT else None
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise ReleaseError(
                f"{self.ref(name)} on {self.remote} is not a record this engine wrote: look at "
                f"it (git fetch {self.remote} {self.ref(name)}), then delete it to send again"
            )
        return found

    def write_text(self, name: str, record: dict[str, Any]) -> str:
        """What :meth:`write` pushes, as a dry run shows it and a run's trace notes it."""
        ref = self.ref(name)
        return (
            f"git push --force-with-lease={ref}:<the record read> {self.remote} "
            f"<record commit>:{ref} (record {json.dumps(record, sort_keys=True)})"
        )

    def write(self, name: str, record: dict[str, Any]) -> None:
        """Push *record* as the new record *name*, on the one read last (read it first)."""
        if name not in self._seen:
            self.read(name)
        parent = self._seen[name]
        message = f"{_SUBJECT}\n\n{json.dumps(record, sort_keys=True)}\n"
        sha = data_commit(self.git, message, parent)
        ref = self.ref(name)
        try:
            push = ["git", "push", "--quiet", f"--force-with-lease={ref}:{parent or ''}"]
            run([*push, self.remote, f"{sha}:{ref}"], cwd=self.git.path, record=False)
        except CommandError:
            raise ReleaseError(
                f"{ref} changed on {self.remote} while this run was writing it: another run is "
                "sending the same message; run the command again to see what it did"
            ) from None
        self._seen[name] = sha
