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
from .proc import Progress
from .redact import Secrets
from .tools.git import Git
from .version import Version, is_newest_stable, versions_from_tags

if TYPE_CHECKING:
    from .remotes.github.client import GitHubClient
    from .remotes.index import Login
    from .remotes.registry.client import Registry
    from .remotes.registry.container import ContainerEngine
    from .tools.records import Records

__all__ = ["Options", "ReleaseContext", "closing", "release_lock"]


@dataclass(frozen=True)
class Options:
    """Choices the maintainer makes on the command line. Each skip shows in the report."""

    allow_empty: bool = False
    skip_ci: bool = False
    skip_review: bool = False
    skip_prerelease: bool = False
    skip_image: bool = False
    skip_channels: bool = False
    skip_docs: bool = False
    date: str | None = None
    allow_semver_break: bool = False  # the semver guard's refusal waived (release notes say so)
    prebuilt: str | None = None  # --prebuilt DIR: sdist and wheel checked against the tag


def _quiet(line: str) -> None:
    """The progress display of a run nobody watches."""


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
    secrets: Secrets = field(default_factory=Secrets)
    progress: Progress = _quiet
    #: Seconds the upload waits, at most, for the index to serve what it took (a CDN lags).
    index_patience: float = 60.0
    #: The project's own GitHub repository and API (``github_repository``, ``github_api_url``)
    #: when the run's GitHub is another (a rehearsal's stand-in): CHANGELOG.md's links point
    #: where the project is published, as a real release writes them. None: the configured.
    published_at: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.resume_command:
            self.resume_command = f"inv release --version {self.version}"

    def warm(self) -> None:
        """Make what the steps read of the context now, in this thread: steps that observe
        side by side then share one of each (one registry login, one list of versions)."""
        for name in ("git", "base_branch", "state_dir", "known_versions", "is_newest", "date"):
            getattr(self, name)
        for name in ("records", "registry", "index_login"):
            try:
                getattr(self, name)
            except ReleaseError:  # a bad setting: the step that needs it says so
                continue

    @cached_property
    def index_login(self) -> Login:
        """How uploads to the index authenticate (:func:`.remotes.index.remote.index_login`)."""
        from .remotes.index.remote import index_login

        return index_login(self)

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
        if self.git.tag_info(self.tag) is not None:  # resuming: keep the day it was tagged
            seconds = int(self.git.commit_timestamp(self.tag))
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date().isoformat()
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")  # CI's build and publish jobs agree
        if epoch.isdigit():
            return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
        return dt.datetime.now(dt.timezone.utc).date().isoformat()

    @cached_property
    def state_dir(self) -> Path:
        """Where built artifacts wait between steps: inside .git, so never tracked."""
        return self.git.git_dir() / "release" / self.tag

    @property
    def dist_dir(self) -> Path:
        return self.state_dir / "dist"

    @cached_property
    def records(self) -> Records:
        """What was sent (messages, emails), recorded on the remote for every clone to see."""
        from .tools.records import Records

        return Records(self.git, self.config.remote, self.tag)

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
    def image_tags(self) -> list[str]:
        """The image tags this release publishes: its own, and ``latest`` if it is the newest."""
        return [self.tag, "latest"] if self.is_newest else [self.tag]

    @cached_property
    def registry(self) -> Registry:
        """The registry ``config.image`` lives in; credentials go through a private authfile."""
        from .remotes.registry.client import Registry

        docker_auth = self.state_dir / "registry" / "config.json"
        return Registry(
            self.config.image,
            tls_verify=self.config.registry_tls_verify,
            username=self.credentials.get("REGISTRY_USERNAME"),
            password=self.credentials.get("REGISTRY_PASSWORD"),
            # podman, buildah and the copier read it from memory; docker only from DIR/config.json
            authfile=docker_auth if self.container and self.container.name == "docker" else None,
        )


@contextmanager
def closing(ctx: ReleaseContext) -> Iterator[ReleaseContext]:
    """The run's context; what it wrote for the run alone (the registry login) goes at the end."""
    try:
        yield ctx
    finally:
        if "registry" in ctx.__dict__:  # made on first use only
            ctx.registry.close()


@contextmanager
def release_lock(repo: Path) -> Iterator[None]:
    """Hold the repository's release lock; a second release in the same repository is refused."""
    path = Git(repo).git_dir() / "release.lock"
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
