"""Preflight: every precondition checked before anything changes, every problem reported at once.

The slow checks overlap: bump-my-version's dry run (a process of its own, about half a second)
starts first, GitHub is asked about CI and review in a thread, the semver guard and the
documentation check's walk of the history start in theirs, and every remote is reached in
threads of their own, while the local checks run; the answers are collected at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .checks import Findings, check_all
from .checks.branches import check_main_branch
from .checks.docs import previous_release
from .errors import CommandError, ConfigError, PreflightError, ReleaseError
from .gates import GateResult, github_gates
from .proc import Command, in_background, prefetch
from .reach import reach
from .rules import foreign_tag, version_at
from .tools import changelog
from .tools.bump import bump_command, dry_run_refusal, known_good
from .version import newest_of_line, next_development, parse_current_version
from .words import counted

if TYPE_CHECKING:
    from .context import ReleaseContext

__all__ = ["is_resuming", "preflight"]


def is_resuming(ctx: ReleaseContext) -> bool:
    """Whether this release was started before (its branch or tag exists here)."""
    return ctx.git.branch_exists(ctx.release_branch) or ctx.git.tag_info(ctx.tag) is not None


def _base_version(ctx: ReleaseContext) -> str:
    return version_at(ctx.git, ctx.base_branch) or ctx.config.current_version


def _check_versions(ctx: ReleaseContext, problems: list[str], resuming: bool) -> None:
    current = _base_version(ctx)
    if not resuming and parse_current_version(current) >= ctx.version:
        problems.append(
            f"version {ctx.version} is not greater than the current version {current}:"
            " choose a higher version"
        )
    newest = newest_of_line(ctx.version, ctx.known_versions)
    if newest is not None and newest >= ctx.version:
        problems.append(
            f"{ctx.config.tag_prefix}{newest} is already released on the "
            f"{ctx.version.major}.{ctx.version.minor} line: choose a version above it"
        )


def _check_tree(ctx: ReleaseContext, problems: list[str], resuming: bool) -> None:
    branch = ctx.git.current_branch()
    dirty = ctx.git.status_porcelain()
    if resuming:
        # What the release itself changes on its branch may be found modified on resume.
        allowed = (
            *ctx.config.version_files,
            ctx.config.changelog_file,
            ctx.config.fragments_dir + "/",
            *ctx.config.deploy_manifests,
        )
        stray = [line for line in dirty if not line[3:].startswith(allowed)]
        if stray:
            problems.append(
                f"uncommitted changes outside the release's own files ({stray[0][3:]}"
                "): commit or stash them, then resume"
            )
        return
    if branch != ctx.base_branch:
        problems.append(
            f"on branch {branch!r}, not {ctx.base_branch!r}: run git checkout {ctx.base_branch}"
        )
    if dirty:
        problems.append(
            f"the working tree is not clean ({counted(len(dirty), 'change')}, first: "
            f"{dirty[0][3:]}): commit or stash them"
        )
    try:
        remote = ctx.git.remote_refs(ctx.config.remote)
    except CommandError as exc:
        problems.append(str(exc).splitlines()[0] + ": check [tool.release] remote")
        return
    remote_base = remote.get(f"refs/heads/{ctx.base_branch}")
    local_base = ctx.git.rev(ctx.base_branch)
    if remote_base is not None and remote_base != local_base:
        problems.append(
            f"local {ctx.base_branch} ({(local_base or '?')[:12]}) differs from "
            f"{ctx.config.remote}/{ctx.base_branch} ({remote_base[:12]}): "
            f"pull or push until they are equal"
        )
    if f"refs/tags/{ctx.tag}" in remote and ctx.git.tag_info(ctx.tag) is None:
        problems.append(
            f"tag {ctx.tag} already exists on {ctx.config.remote}: choose another version"
        )


def _check_tag(ctx: ReleaseContext, problems: list[str]) -> None:
    """A tag of the release's name in this clone is this release's own, or a conflict: made by
    hand, or by another tool, it would pass for a release already committed and tagged."""
    why = foreign_tag(ctx)
    if why is None:
        return
    problems.append(
        f"tag {ctx.tag} in this clone is {why}: delete it (git tag -d {ctx.tag}) "
        "or choose another version"
    )


def _check_content(ctx: ReleaseContext, problems: list[str]) -> None:
    fragments = changelog.scan_fragments(ctx.repo)
    problems.extend(changelog.fragment_problems(ctx.repo))
    if not fragments.valid and not ctx.options.allow_empty:
        problems.append(
            f"no changelog fragments in {ctx.config.fragments_dir}/: add one with "
            "inv changelog.add, or pass --allow-empty"
        )
    release_bump, *dev_bump = _bump_checks(ctx)
    reason = dry_run_refusal(ctx.git, release_bump)
    if reason is not None:
        problems.append(
            f"a version file does not carry {ctx.config.current_version} "
            f"(bump-my-version: {reason}): fix [tool.bumpversion] or the file"
        )
    if dev_bump:
        dev = next_development(ctx.version)
        reason = dry_run_refusal(ctx.git, dev_bump[0])
        if reason is not None:
            problems.append(
                f'next_cycle = "dev" but bump-my-version cannot write {dev} ({reason}): '
                'make [tool.bumpversion] parse and serialize .devN, or set next_cycle = "none"'
            )


def _bump_checks(ctx: ReleaseContext) -> list[Command]:
    """bump-my-version's dry runs: to the release, then (``next_cycle = "dev"``) to the
    development version after it."""
    found = [bump_command(ctx.repo, ctx.version.pep440, dry_run=True)]
    if ctx.config.next_cycle == "dev" and not ctx.is_hotfix and not ctx.version.is_prerelease:
        from .steps.cycle import dev_bump_command

        found.append(dev_bump_command(ctx, next_development(ctx.version), dry_run=True))
    return found


def _github_problems(ctx: ReleaseContext) -> GateResult:
    """What GitHub says against releasing the base branch's commit: review, CI, prerelease."""
    return github_gates(ctx)


def _check_remotes(
    ctx: ReleaseContext, problems: list[str], notes: list[str], *, github: GateResult
) -> None:
    """CI and review (*github*: what :func:`_github_problems` found), the pre-release run."""
    config = ctx.config
    if ctx.container is None and not ctx.options.skip_image and config.image:
        problems.append(f"{ctx.container_reason}: install podman, or pass --skip-image")
    sha = ctx.git.rev(ctx.base_branch) or ""
    if ctx.options.skip_ci:
        notes.append("CI status check skipped (--skip-ci)")
    if ctx.options.skip_review:
        notes.append("review check skipped (--skip-review)")
    problems.extend(github.problems)
    notes.extend(github.notes)
    if ctx.options.skip_prerelease:
        notes.append("prerelease matrix check skipped (--skip-prerelease)")
    if not config.github_repository:
        local = (
            "" if ctx.options.skip_prerelease else "; prerelease: nox -s prerelease's local record"
        )
        notes.append(f"no GitHub configured (github_repository): CI and review not asked{local}")
    if not config.github_repository and not ctx.options.skip_prerelease:
        from .prerelease.matrix import green_run_for

        if not green_run_for(ctx.repo, sha):
            problems.append(
                f"no green 'nox -s prerelease' run is recorded for {sha[:12]}: "
                "run nox -s prerelease, or pass --skip-prerelease"
            )


def _check_credentials(
    ctx: ReleaseContext, problems: list[str], notes: list[str], dry_run: bool
) -> None:
    """What the remotes' credentials lack; for the index, how its uploads will authenticate
    (an API token, a username and password, or trusted publishing), printed as a note.

    A dry run uploads nothing: on GitHub Actions its job (``check``) may not request an OIDC
    token, which only the job that uploads needs, so that is a note there, not a problem.
    """
    problems.extend(ctx.credentials.missing(ctx.config))  # the index's login: decided below
    if not ctx.config.index_url:
        return
    try:
        login = ctx.index_login
    except ConfigError as exc:
        problems.append(str(exc))
        return
    if login.unavailable and not dry_run:
        problems.append(login.unavailable)
        return
    notes.append(f"index credentials: {login.describe()}")
    if login.unavailable:
        notes.append(f"not in this dry run's job, which uploads nothing: {login.unavailable}")


def _semver_findings(ctx: ReleaseContext) -> tuple[list[str], list[str]]:
    """The semver guard (:mod:`.semver`): one line per break the version is too small for."""
    from .semver import preflight_findings

    try:
        return preflight_findings(ctx)
    except ReleaseError as exc:
        return [f"semver: {exc.message.splitlines()[0]}"], []


def preflight(ctx: ReleaseContext, *, dry_run: bool = False) -> list[str]:
    """Check everything; raise :class:`PreflightError` listing every problem. Return notes.

    *dry_run*: the run writes nothing, so what only a write needs is noted, not required.
    """
    problems: list[str] = []
    notes: list[str] = []
    check_main_branch(ctx)  # a typo there makes every other answer misleading: exit 2 first
    resuming = is_resuming(ctx)
    if resuming:
        notes.append(f"resuming: {ctx.release_branch} or {ctx.tag} exists from an earlier run")
    else:  # the slow ones first, in the background: collected below
        for bump in _bump_checks(ctx):
            if not known_good(ctx.git, bump):
                prefetch(bump.argv, cwd=bump.cwd)
        github = in_background(_github_problems, ctx)
        semver = in_background(_semver_findings, ctx)
        # The documentation check's one long read (is the previous release in the base
        # branch? a walk of its history) and the reading of every fragment are started now;
        # the checks find them done.
        in_background(previous_release, ctx)
        in_background(changelog.fragment_problems, ctx.repo)
    prefetch(["git", "ls-remote", ctx.config.remote], cwd=ctx.repo)
    _check_tag(ctx, problems)
    _check_versions(ctx, problems, resuming)
    _check_tree(ctx, problems, resuming)
    _check_credentials(ctx, problems, notes, dry_run)
    # Every remote, reached whatever was found above (anonymously where a credential lacks).
    unreached = reach(ctx)
    problems.extend(unreached.values())
    found = Findings(dry_run=dry_run, resuming=resuming, unreached=set(unreached))
    check_all(ctx, found)
    problems.extend(found.problems)
    notes.extend(found.notes)
    if not resuming:
        _check_content(ctx, problems)
        semver_problems, semver_notes = semver.result()
        problems.extend(semver_problems)
        notes.extend(semver_notes)
        # GitHub unreached is said once, by reach; what else it answered then is not news.
        _check_remotes(
            ctx, problems, notes, github=GateResult() if "github" in unreached else github.result()
        )
    if problems:
        raise PreflightError(problems)
    return notes
