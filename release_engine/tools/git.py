"""Git, read and written through the ``git`` command in one repository.

Reads go through :func:`~release_engine.proc.read` and writes through
:func:`~release_engine.proc.run`, so a dry run can be shown to write nothing.
"""

from __future__ import annotations

import functools
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import CommandError
from ..proc import Command, read, run

__all__ = ["Git", "TagInfo", "extract_archive"]


@dataclass(frozen=True)
class TagInfo:
    name: str
    object: str  # the tag object's sha (or the commit's, for a lightweight tag)
    commit: str
    annotated: bool
    message: str


def extract_archive(archive: Path, dest: Path) -> None:
    """Unpack a ``git archive`` tarball into *dest*, refusing links and paths that leave it."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


class Git:
    """The git repository at *path*."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, *args: str, check: bool = True) -> str:
        """Run a git command that changes something; its output."""
        return run(["git", *args], cwd=self.path, check=check).stdout.strip()

    def command(self, *args: str) -> Command:
        """A git command as data, for a step's actions."""
        return Command.of("git", *args, cwd=self.path)

    def read(self, *args: str, check: bool = True) -> str:
        """Run a git command that only looks; its output."""
        return read(["git", *args], cwd=self.path, check=check).stdout.strip()

    def ok(self, *args: str) -> bool:
        return read(["git", *args], cwd=self.path).returncode == 0

    # --- reads ---
    def current_branch(self) -> str:
        return self.read("rev-parse", "--abbrev-ref", "HEAD")

    def git_dir(self) -> Path:
        return Path(self.read("rev-parse", "--absolute-git-dir"))

    def rev(self, ref: str) -> str | None:
        found = self.read("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return found or None

    def branch_exists(self, name: str) -> bool:
        return self.ok("show-ref", "--verify", "--quiet", f"refs/heads/{name}")

    def status_porcelain(self) -> list[str]:
        out = read(["git", "status", "--porcelain", "--untracked-files=all"], cwd=self.path).stdout
        return [line for line in out.splitlines() if line.strip()]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", ancestor, descendant)

    def subject(self, ref: str) -> str:
        return self.read("log", "-1", "--format=%s", ref)

    def show(self, ref: str, path: str) -> str | None:
        proc = read(["git", "show", f"{ref}:{path}"], cwd=self.path)
        return proc.stdout if proc.returncode == 0 else None

    def tags(self) -> list[str]:
        return [t for t in self.read("tag", "--list").splitlines() if t]

    def tag_info(self, name: str) -> TagInfo | None:
        ref = f"refs/tags/{name}"
        out = self.read(
            "for-each-ref",
            "--format=%(objectname) %(objecttype) %(*objectname)%00%(contents:subject)",
            ref,
        )
        if not out:
            return None
        head, _, message = out.partition("\0")
        obj, kind, *peeled = head.split(" ")
        annotated = kind == "tag"
        commit = peeled[0] if annotated and peeled and peeled[0] else obj
        return TagInfo(name, obj, commit, annotated, message if annotated else "")

    def remote_refs(self, remote: str) -> dict[str, str]:
        """Every ref on *remote* (``refs/heads/main`` → sha); peeled tags as ``refs/tags/x^{}``."""
        try:
            out = self.read("ls-remote", remote)
        except CommandError as exc:
            raise CommandError(
                exc.args_, exc.returncode, f"cannot read remote {remote!r}: {exc.output}"
            ) from None
        return dict(_refs(out))  # a copy: the caller may change it

    def commit_timestamp(self, ref: str) -> str:
        return self.read("log", "-1", "--format=%ct", ref)

    def remote_url(self, remote: str) -> str | None:
        return self.read("remote", "get-url", remote, check=False) or None


@functools.lru_cache(maxsize=4)
def _refs(listing: str) -> dict[str, str]:
    """``git ls-remote``'s *listing* as a dict, parsed once per listing: while observing, every
    step reads the one memoised listing (thousands of lines where a project has many tags)."""
    refs = {}
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref] = sha
    return refs
