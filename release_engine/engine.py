"""The release as one plan: open a context, then read the plan as status, dry run, run or verify."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import Credentials, load_config
from .context import Options, ReleaseContext, release_lock
from .errors import ReleaseError
from .plan import Outcome, Reporter, Status, Step, execute, observe_all
from .preflight import is_resuming, preflight
from .steps.git import Branch, Bump, Changelog, Commit, Merge, Push, Tag
from .steps.post import DeployManifests, Notify
from .steps.publish import Build, GitHubRelease, Image, ImagePush, Upload, artifacts, release_notes
from .tools import index
from .version import parse_version

__all__ = ["STEPS", "Report", "open_release", "release", "status"]

# RELEASE_PROCESS.md's order, with reversible local work before anything is published.
STEPS: tuple[Step, ...] = (
    Branch(),
    Bump(),
    Changelog(),
    Commit(),
    Tag(),
    Build(),
    Image(),
    Merge(),
    Push(),
    Upload(),
    ImagePush(),
    GitHubRelease(),
    DeployManifests(),
    Notify(),
)


@dataclass
class Report:
    version: str
    tag: str
    dry_run: bool = False
    rehearsal: bool = False
    already_released: bool = False
    notes: list[str] = field(default_factory=list)
    steps: list[Outcome] = field(default_factory=list)
    changelog: str = ""
    artifacts: list[dict[str, str | None]] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)
    release: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def open_release(
    repo: Path,
    version: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    options: Options | None = None,
    credentials: Credentials | None = None,
) -> ReleaseContext:
    """Read config and credentials and find the remotes; check nothing, change nothing."""
    parsed = parse_version(version)
    config = load_config(repo).with_overrides(**(overrides or {}))
    creds = credentials or Credentials.from_env(config)
    options = options or Options()
    github = None
    if config.github_repository and creds.github_token:
        from .tools.github import GitHubClient

        github = GitHubClient(config.github_api_url, config.github_repository, creds.github_token)
    container, reason = None, ""
    if options.skip_image:
        reason = "skipped by --skip-image"
    elif not config.image:
        reason = "no image configured in [tool.release]"
    else:
        from .tools.container import ContainerEngine, detect_engine

        name = detect_engine(config.container_engine)
        if name is None:
            reason = "no container engine found (podman, buildah or docker)"
        else:
            container = ContainerEngine(name)
    return ReleaseContext(
        repo=repo,
        version=parsed,
        config=config,
        credentials=creds,
        options=options,
        github=github,
        container=container,
        container_reason=reason,
    )


def status(ctx: ReleaseContext) -> list[Outcome]:
    """Every step with what the real world shows for it. Changes nothing."""
    outcomes = []
    for step in STEPS:
        try:
            seen = step.observe(ctx)
        except ReleaseError as exc:  # one unreachable remote does not hide the other steps
            outcomes.append(Outcome(step.name, step.title, "unknown", str(exc)))
            continue
        outcomes.append(Outcome(step.name, step.title, seen.status.value, seen.detail))
    return outcomes


def release(
    ctx: ReleaseContext,
    reporter: Reporter,
    *,
    dry_run: bool = False,
    after_step: Callable[[str], None] | None = None,
) -> Report:
    """Run (or with *dry_run*, show) every pending step, then verify the whole release."""
    report = Report(version=ctx.version.pep440, tag=ctx.tag, dry_run=dry_run)
    with release_lock(ctx.repo):
        # A fresh release is checked before anything is looked up remotely; one that was
        # started before may already be finished, which only observing every step can tell.
        finished = is_resuming(ctx) and all(
            seen.status in (Status.DONE, Status.SKIPPED) for _, seen in observe_all(ctx, STEPS)
        )
        if finished:
            report.already_released = True
            reporter.info(f"{ctx.tag} is already released; verifying every step")
            report.steps = execute(ctx, STEPS, reporter, dry_run=dry_run)
        else:
            report.notes = preflight(ctx)
            for note in report.notes:
                reporter.info(note)
            report.steps = execute(ctx, STEPS, reporter, dry_run=dry_run, after_step=after_step)
        if ctx.git.current_branch() != ctx.base_branch and not dry_run:
            ctx.git("checkout", "--quiet", ctx.base_branch)
    if not dry_run:
        fill_report(ctx, report)
    return report


def fill_report(ctx: ReleaseContext, report: Report) -> None:
    """What a finished release looks like from outside: notes, hashes, digests, URL."""
    try:
        report.changelog = release_notes(ctx)
    except ReleaseError:
        report.changelog = ""
    served = {}
    if ctx.config.index_simple_url:
        served = index.served_files(
            ctx.config.index_simple_url,
            ctx.config.package,
            username=ctx.credentials.index_username,
            password=ctx.credentials.index_password,
        )
    for path in artifacts(ctx):
        report.artifacts.append(
            {
                "filename": path.name,
                "sha256": index.sha256_of(path),
                "served_sha256": served.get(path.name),
            }
        )
    if ctx.container is not None:
        from .steps.publish import registry_client

        client, repository = registry_client(ctx)
        for tag in (ctx.tag, "latest") if ctx.is_newest else (ctx.tag,):
            report.images.append(
                {
                    "ref": f"{ctx.config.image}:{tag}",
                    "digest": client.manifest_digest(repository, tag),
                }
            )
    if ctx.github is not None:
        found = ctx.github.release_for_tag(ctx.tag)
        if found is not None:
            report.release = {"url": found.html_url, "body": found.body}
