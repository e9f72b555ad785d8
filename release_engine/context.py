"""Everything one release run knows: the repository, the version, the remotes, the options."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Credentials, ReleaseConfig
from .errors import ReleaseError
from .tools.git import Git
from .version import Version, is_newest_stable, versions_from_tags

if TYPE_CHECKING:
    from .tools.container import ContainerEngine
    from .tools.github import GitHubClient

__all__ = ["Options", "ReleaseContext", "release_lock"]


@dataclass(frozen=True)
class Options:
    """Choices the maintainer makes on the command line. Each skip shows in the report."""

    allow_empty: bool = False
    skip_ci: bool = False
    skip_review: bool = False
    skip_prerelease: bool = False
    skip_image: bool = False
    date: str | None = None


@dataclass
class ReleaseContext:
    repo: Path
    version: Version
    config: ReleaseConfig
    credentials: Credentials
    options: Options = field(default_factory=Options)
    github: GitHubClient | None = None
    container: ContainerEngine | None = None
    container_reason: str = ""
    resume_command: str = ""

    def __post_init__(self) -> None:
        if not self.resume_command:
            self.resume_command = f"inv release --version {self.version}"

    @cached_property
    def git(self) -> Git:
        return Git(self.repo)

    @property
    def tag(self) -> str:
        return self.version.tag(self.config.tag_prefix)

    @property
    def release_branch(self) -> str:
        return f"release/{self.tag}"

    @cached_property
    def base_branch(self) -> str:
        """``main``, or the ``hotfix/…`` branch this release is cut from."""
        hotfix = f"hotfix/{self.tag}"
        if self.git.branch_exists(hotfix):
            return hotfix
        return self.config.main_branch

    @property
    def is_hotfix(self) -> bool:
        return self.base_branch.startswith("hotfix/")

    @cached_property
    def date(self) -> str:
        if self.options.date:
            return self.options.date
        stamp = self.git.tag_info(self.tag)
        if stamp is not None:  # resuming: the release keeps the day it was tagged
            seconds = int(self.git.commit_timestamp(self.tag))
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date().isoformat()
        return dt.datetime.now(dt.timezone.utc).date().isoformat()

    @cached_property
    def state_dir(self) -> Path:
        """Where built artifacts wait between steps: inside .git, so never tracked."""
        git_dir = Path(self.git("rev-parse", "--absolute-git-dir"))
        path = git_dir / "release" / self.tag
        return path

    @cached_property
    def known_versions(self) -> list[Version]:
        """Released versions: tags here and on the remote (this release's own excluded)."""
        tags = set(self.git.tags())
        try:
            remote = self.git.remote_refs(self.config.remote)
        except ReleaseError:
            remote = {}
        tags |= {
            ref.removeprefix("refs/tags/").removesuffix("^{}")
            for ref in remote
            if ref.startswith("refs/tags/")
        }
        return [v for v in versions_from_tags(tags, self.config.tag_prefix) if v != self.version]

    @cached_property
    def is_newest(self) -> bool:
        """Whether this release gets ``latest`` (image tag and GitHub release)."""
        return is_newest_stable(self.version, self.known_versions)

    @property
    def dist_name(self) -> str:
        return self.config.package.replace("-", "_").replace(".", "_").lower()

    @property
    def image_repository(self) -> str:
        return self.config.image


@contextmanager
def release_lock(repo: Path) -> Iterator[None]:
    """Hold the repository's release lock; a second release in the same repository is refused."""
    git_dir = Path(Git(repo)("rev-parse", "--absolute-git-dir"))
    path = git_dir / "release.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise ReleaseError(
                f"another release is running in this repository (pid {holder}); wait for it to "
                f"finish, or remove {path} if that process is gone"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
