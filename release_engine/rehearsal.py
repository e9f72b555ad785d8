"""Rehearsal: the real release, run in a throwaway clone against local stand-ins.

A bare git remote, a real package index (pypiserver), a real container registry
(docker-registry), a local GitHub API stand-in, a notification sink and a mail server (aiosmtpd)
are started, the repository is cloned, and the very same engine releases the clone. The user's
repository, remotes and accounts are never touched.

A rehearsal swaps each remote for its stand-in and changes nothing else: the steps that run,
the links CHANGELOG.md gets (the project's repository, :attr:`ReleaseContext.published_at`)
and the emails are those of the project's own ``[tool.release]``. The mail server is swapped
only when one is configured (``smtp_host``): a project without one sends no email when it
releases, so its rehearsal sends none either. ``tests/engine/test_rehearsal_is_release.py``
compares a rehearsal with a run of the project's configuration pointed at the stand-ins.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Credentials, Setting, load_config
from .context import Options, ReleaseContext
from .engine import open_release
from .proc import run
from .redact import Secrets
from .standins.github_api import GitHubStandIn
from .standins.pypi import PackageIndexStandIn
from .standins.sink import NotificationSink
from .standins.smtp import SmtpStandIn
from .version import Version

if TYPE_CHECKING:
    from .standins.registry import RegistryStandIn
from .tools.git import Git

__all__ = [
    "StandIns",
    "clone_for_rehearsal",
    "rehearsal_context",
    "seed_green",
    "stand_ins",
]


@dataclass
class StandIns:
    index: PackageIndexStandIn
    github: GitHubStandIn
    sink: NotificationSink
    registry: RegistryStandIn | None  # when a container engine is available
    engine_reason: str = ""
    image_namespace: str = ""  # a path inside the registry, so rehearsals can share one
    smtp: SmtpStandIn | None = None


@contextmanager
def stand_ins(
    workdir: Path,
    *,
    repository: str = "rehearsal/release",
    with_registry: bool = True,
    registry: RegistryStandIn | None = None,
    image_namespace: str = "",
) -> Iterator[StandIns]:
    """Start every stand-in under *workdir*; stop them all on exit, whatever happened.

    A running *registry* may be passed in to be shared (it is then not stopped here).
    """
    from .remotes.registry.container import detect_engine

    with ExitStack() as stack:
        index = stack.enter_context(PackageIndexStandIn(workdir / "index"))
        github = stack.enter_context(GitHubStandIn(repository=repository))
        sink = stack.enter_context(NotificationSink())
        smtp = stack.enter_context(SmtpStandIn())
        reason = ""
        if registry is not None:
            pass
        elif not with_registry:
            reason = "container steps not wanted"
        elif detect_engine() is None:
            reason = "no container engine found (podman, buildah or docker)"
        else:
            from .standins.registry import RegistryStandIn

            registry = stack.enter_context(RegistryStandIn(workdir / "registry"))
        yield StandIns(index, github, sink, registry, reason, image_namespace, smtp)


def clone_for_rehearsal(source: Path, workdir: Path, main_branch: str = "main") -> Path:
    """A bare remote made from *source*, and a working clone of it whose origin is that remote."""
    remote, work = workdir / "remote.git", workdir / "work"
    run(["git", "clone", "--quiet", "--bare", "--no-local", str(source), str(remote)])
    run(["git", "clone", "--quiet", "--branch", main_branch, str(remote), str(work)])
    git = Git(work)
    if not git.ok("config", "user.email"):
        git("config", "user.email", "release-rehearsal@localhost")
        git("config", "user.name", "Release Rehearsal")
    return work


def rehearsal_context(
    work: Path,
    version: Version,
    s: StandIns,
    *,
    options: Options | None = None,
    secrets: Secrets | None = None,
    settings: dict[str, Setting] | None = None,
) -> ReleaseContext:
    """A release context for the clone at *work*, pointed at the stand-ins *s*.

    *settings* (``--set``) apply too, but every remote is the stand-ins', whatever they say.
    The GitHub stand-in serves the clone's bare remote: pull requests have their heads there
    and merge there for real. With ``merge=pull-request`` that remote's main is protected as
    GitHub protects it, refusing every push (GH006).
    """
    config = load_config(work).with_overrides(**(settings or {}))
    url = Git(work).remote_url("origin")
    if url and Path(url).is_dir():
        s.github.attach_git(Path(url))
        if config.merge == "pull-request":
            s.github.protect_branch(config.main_branch)
    # The commit being released passed CI and every commit it brings reached its branch through
    # an approved pull request: what GitHub would say of it is said to the stand-in, and the
    # preflight asks for real.
    hotfix = f"hotfix/{version.tag(config.tag_prefix)}"
    base = hotfix if Git(work).branch_exists(hotfix) else config.main_branch
    checks = (*config.required_checks, config.prerelease_check)
    seed_green(s.github, work, ref=base, base=base, checks=checks)
    name = config.image.rsplit("/", 1)[-1] if config.image else config.package
    overrides: dict[str, Setting] = {
        **(settings or {}),
        "remote": "origin",
        "github_repository": s.github.repository,
        "github_api_url": s.github.url,
        "index_url": s.index.upload_url,
        "index_simple_url": s.index.simple_url,
        "image": f"{s.registry.url}/{s.image_namespace}{name}" if s.registry else "",
        "registry_tls_verify": False,
    }
    if s.smtp is not None and config.smtp_host:  # the configured mail server, swapped
        overrides |= {"smtp_host": "127.0.0.1", "smtp_port": s.smtp.port, "smtp_starttls": False}
    if config.rehearsal_base_image:
        overrides["base_image"] = config.rehearsal_base_image
    credentials = Credentials(
        github_token=s.github.token,
        index_username=s.index.username,
        index_password=s.index.password,
        registry_username=s.registry.username if s.registry else None,
        registry_password=s.registry.password if s.registry else None,
        webhooks=(s.sink.url,),
        smtp_username=s.smtp.username if s.smtp else None,
        smtp_password=s.smtp.password if s.smtp else None,
    )
    given = options or Options()
    options = replace(given, skip_image=given.skip_image or s.registry is None)
    ctx = open_release(
        work,
        version,
        overrides=overrides,
        options=options,
        credentials=credentials,
        secrets=secrets,
    )
    if s.registry is None:
        ctx.container_reason = s.engine_reason
    # The notes' links, as the real release writes them: into the project's own repository.
    ctx.published_at = (config.github_repository, config.github_api_url)
    ctx.resume_command = f"inv release --version {version} --rehearse"
    return ctx


def seed_green(
    github: GitHubStandIn,
    repo: Path,
    *,
    ref: str = "HEAD",
    base: str = "main",
    checks: tuple[str, ...] = ("green",),
) -> None:
    """Tell the GitHub stand-in what GitHub says of a release whose gates are green: *checks*
    passed on *ref* (of the git repository *repo*, bare or not), and every commit it brings
    since the last tag reached *base* through one merged pull request, approved."""
    git = Git(repo)
    sha = git.rev(ref) or ""
    for check in dict.fromkeys(checks):
        github.seed_check_run(sha, check)
    commits = git.read("rev-list", sha, "--not", "--tags").split()
    github.seed_pull(int(sha[:6], 16), head_sha=sha, merge_commit_sha=sha, base=base,
                     merged=True, approved_by=["rehearsal-reviewer"], commits=commits)  # fmt: skip


@contextmanager
def workspace(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="release-rehearsal-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
