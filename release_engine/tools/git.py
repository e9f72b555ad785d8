"""Git, read and written through the ``git`` command in one repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import CommandError
from ..proc import run

__all__ = ["Git", "TagInfo"]


@dataclass(frozen=True)
class TagInfo:
    name: str
    object: str  # the tag object's sha (or the commit's, for a lightweight tag)
    commit: str
    annotated: bool
    message: str


class Git:
    """The git repository at *path*."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, *args: str, check: bool = True) -> str:
        return run(["git", *args], cwd=self.path, check=check).stdout.strip()

    def ok(self, *args: str) -> bool:
        return run(["git", *args], cwd=self.path, check=False).returncode == 0

    # --- reads ---
    def current_branch(self) -> str:
        return self("rev-parse", "--abbrev-ref", "HEAD")

    def rev(self, ref: str) -> str | None:
        proc = run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=self.path,
            check=False,
        )
        return proc.stdout.strip() or None

    def branch_exists(self, name: str) -> bool:
        return self.ok("show-ref", "--verify", "--quiet", f"refs/heads/{name}")

    def status_porcelain(self) -> list[str]:
        out = run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=self.path).stdout
        return [line for line in out.splitlines() if line.strip()]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", ancestor, descendant)

    def subject(self, ref: str) -> str:
        return self("log", "-1", "--format=%s", ref)

    def show(self, ref: str, path: str) -> str | None:
        proc = run(["git", "show", f"{ref}:{path}"], cwd=self.path, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def tags(self) -> list[str]:
        return [t for t in self("tag", "--list").splitlines() if t]

    def tag_info(self, name: str) -> TagInfo | None:
        if not self.ok("show-ref", "--verify", "--quiet", f"refs/tags/{name}"):
            return None
        obj = self("rev-parse", f"refs/tags/{name}")
        kind = self("cat-file", "-t", obj)
        commit = self("rev-parse", f"refs/tags/{name}^{{commit}}")
        message = self("tag", "-l", "--format=%(contents:subject)", name) if kind == "tag" else ""
        return TagInfo(name, obj, commit, kind == "tag", message)

    def remote_refs(self, remote: str) -> dict[str, str]:
        """Every ref on *remote* (``refs/heads/main`` → sha); peeled tags as ``refs/tags/x^{}``."""
        try:
            out = self("ls-remote", remote)
        except CommandError as exc:
            raise CommandError(
                exc.args_, exc.returncode, f"cannot read remote {remote!r}: {exc.output}"
            ) from None
        refs = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            refs[ref] = sha
        return refs

    def commit_timestamp(self, ref: str) -> str:
        return self("log", "-1", "--format=%ct", ref)

    def remote_url(self, remote: str) -> str | None:
        proc = run(["git", "remote", "get-url", remote], cwd=self.path, check=False)
        return proc.stdout.strip() or None
