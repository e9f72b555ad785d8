"""The release as one plan: open a context, then read the plan as status, dry run, run or verify."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import trace
from .config import Credentials, Setting, load_config
from .context import Options, ReleaseContext, closing, release_lock
from .errors import ConfigError, ReleaseError
from .plan import (
    Action,
    Outcome,
    Reporter,
    Status,
    execute,
    observe_all,
    observing_each,
    perform,
    previewing_each,
)
from .preflight import is_resuming, preflight
from .proc import in_background, observing
from .redact import Secrets
from .remote_lock import RemoteLock, read_holder
from .remotes import remotes
from .report import Report
from .settle import settle
from .steps import RELEASE_STEPS
from .steps.rollback_state import as_rolled_back, refuse_rolled_back
from .tools.git import Git
from .version import Version

if TYPE_CHECKING:
    from .cadence import Cadence

__all__ = ["open_release", "release", "rollback", "status", "status_and_cadence"]


def open_release(
    repo: Path,
    version: Version,
    *,
    overrides: Mapping[str, Setting] | None = None,
    options: Options | None = None,
    credentials: Credentials | None = None,
    secrets: Secrets | None = None,
) -> ReleaseContext:
    """Read config and credentials and find the remotes; check nothing, change nothing.

    The credentials' secrets are added to *secrets*, the object the run's output applies.
    """
    config = load_config(repo).with_overrides(**(overrides or {}))
    _check_repository(Git(repo), config.remote)
    creds = credentials or Credentials.from_env(config)
    secrets = secrets if secrets is not None else Secrets()
    secrets.update(creds.secrets())
    ctx = ReleaseContext(
        repo=repo,
        version=version,
        config=config,
        credentials=creds,
        options=options or Options(),
        secrets=secrets,
    )
    for remote in remotes():
        remote.open(ctx)
    return ctx


def _check_repository(git: Git, remote: str) -> None:
    """A repository every step can work in: one line otherwise, before anything is read."""
    if not git.ok("rev-parse", "--git-dir"):
        raise ConfigError(f"{git.path} is not a git repository: release from a clone")
    if not git.ok("rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        raise ConfigError(
            f"the repository at {git.path} has no commits yet: commit the project, push it "
            "to its remote, then release"
        )
    if git.remote_url(remote) is None:
        raise ConfigError(
            f"this clone has no remote named {remote!r}: add it (git remote add {remote} URL) "
            "or set remote in [tool.release]"
        )


def status(ctx: ReleaseContext) -> list[Outcome]:
    """Every step with what the real world shows for it. Changes nothing."""
    return status_and_cadence(ctx, cadence=False)[0]


def status_and_cadence(
    ctx: ReleaseContext, *, cadence: bool
) -> tuple[list[Outcome], Cadence | None]:
    """:func:`status`, and with *cadence* the rhythm of releases (:mod:`.cadence`) looked at
    beside the steps: every remote is asked once, all of them at the same time."""
    outcomes = []
    with ctx.secrets.masking_logs(), closing(ctx), observing():
        ctx.warm()
        rhythm = None
        if cadence:
            from . import cadence as cadence_module

            rhythm = in_background(cadence_module.observe, ctx)
        for step, looking in zip(RELEASE_STEPS, observing_each(ctx, RELEASE_STEPS), strict=True):
            try:
                seen = looking.result()
            except ReleaseError as exc:  # one unreachable remote does not hide the other steps
                outcomes.append(Outcome(step.name, step.title, Status.UNKNOWN, str(exc)))
                continue
            outcomes.append(Outcome(step.name, step.title, seen.status, seen.detail))
        outcomes = as_rolled_back(ctx, outcomes)  # a rolled-back release: nothing pending
        return outcomes, None if rhythm is None else rhythm.result()


def release(
    ctx: ReleaseContext,
    reporter: Reporter,
    *,
    dry_run: bool = False,
    after_step: Callable[[str], None] | None = None,
) -> Report:
    """Run (or with *dry_run*, show) every pending step, then verify the whole release."""
    report = Report(version=ctx.version.pep440, tag=ctx.tag, dry_run=dry_run)
    ctx.progress = reporter.progress
    checked: list[str] = []
    failed: list[Exception] = []

    def published() -> None:
        """Last: the published artifacts, checked as anyone downloads them, beside the steps'
        own last look (both only read); its failure is raised once the run is back on its
        branch, as when it came after."""
        from .verify import final_verification

        try:
            checked.append(final_verification(ctx))
        except Exception as exc:  # raised below, after the work tree is back on its branch
            failed.append(exc)

    with ctx.secrets.masking_logs(), closing(ctx), release_lock(ctx.repo), _resumable(ctx):
        refuse_rolled_back(ctx)  # a rolled-back release never acts again: before anything
        settled = [] if dry_run else settle(ctx)  # what a killed run left half-done in git
        check = None if dry_run else published
        report = _release(ctx, reporter, report, settled, dry_run, after_step, check)
        if failed:
            raise failed[0]
        for line in checked:
            reporter.info(line)
    return report


def _release(
    ctx: ReleaseContext,
    reporter: Reporter,
    report: Report,
    settled: list[str],
    dry_run: bool,
    after_step: Callable[[str], None] | None,
    check: Callable[[], None] | None,
) -> Report:
    """:func:`release` once the clone is settled: each read shared until something is written."""
    with observing():
        for note in settled:
            reporter.info(note)
        # A fresh release is checked before anything is looked up remotely; one that was
        # started before may already be finished, which only observing every step can tell.
        finished = is_resuming(ctx) and all(
            seen.status in (Status.DONE, Status.SKIPPED)
            for _, seen in observe_all(ctx, RELEASE_STEPS)
        )
        if finished:
            report.already_released = True
            reporter.info(f"{ctx.tag} is already released; verifying every step")
            lock = RemoteLock(ctx.git, ctx.config.remote, f"release {ctx.tag}")
            with _ending_dead_lock(lock, dry_run):  # the remote's lock as this run found it
                outcomes = execute(
                    ctx, RELEASE_STEPS, reporter, dry_run=dry_run, beside_verify=check
                )
        else:
            lock = RemoteLock(ctx.git, ctx.config.remote, f"release {ctx.tag}")
            lock.check()  # another run's lock: named at once, before preflight's findings
            # A dry run writes nothing: the steps are looked at while the preflight runs.
            previews = previewing_each(ctx, RELEASE_STEPS) if dry_run else None
            report.notes = [*settled, *preflight(ctx, dry_run=dry_run)]
            for note in report.notes[len(settled) :]:
                reporter.info(note)
            with _holding(lock, dry_run, reporter):
                outcomes = execute(
                    ctx,
                    RELEASE_STEPS,
                    reporter,
                    dry_run=dry_run,
                    after_step=after_step,
                    previews=previews,
                    beside_verify=check,
                )
        _back_to_base(ctx, reporter, outcomes, dry_run)
    report.add_outcomes(outcomes)
    return report


def _back_to_base(
    ctx: ReleaseContext, reporter: Reporter, outcomes: list[Outcome], dry_run: bool
) -> None:
    """The work tree back on the branch the release was cut from, after steps that switched
    it: an action like theirs, shown by a dry run, noted in the run's trace."""
    acted = any(o.status in (Status.ACTED, Status.WOULD_RUN) for o in outcomes)
    if acted or ctx.git.current_branch() != ctx.base_branch:
        back = ctx.git.command("checkout", "--quiet", ctx.base_branch)
        _act_or_show(back, ctx, reporter, dry_run)


def _act_or_show(action: Action, ctx: ReleaseContext, reporter: Reporter, dry_run: bool) -> None:
    if dry_run:
        _show(action.render(), reporter)
    else:
        perform(action, ctx)


def _show(line: str, reporter: Reporter | None) -> None:
    """What a dry run prints of a write it does not make (none without a *reporter*)."""
    if reporter is not None:
        reporter.info(f"would run: {line}")
        trace.note(line)


@contextmanager
def _holding(lock: RemoteLock, dry_run: bool, reporter: Reporter | None = None) -> Iterator[None]:
    """Hold *lock* on the remote for a run that changes things; a dry run only checked it, and
    shows (given its *reporter*) the two pushes the run makes, as the run's trace notes them."""
    take, give = lock.take_text(), lock.release_text()
    if dry_run:
        _show(take, reporter)
        yield
        _show(give, reporter)
        return
    with trace.performing(take):
        lock.acquire()
    try:
        yield
    finally:
        with trace.performing(give):
            lock.release()


@contextmanager
def _ending_dead_lock(lock: RemoteLock, dry_run: bool) -> Iterator[None]:
    """For a run with nothing to do: a lock a dead run of this machine or CI run left on the
    remote is taken over and released at the end, as a run that acts would; no lock, or a
    live one of another run, is left as it is."""
    found = None if dry_run else read_holder(lock.git, lock.remote)
    holder = None if found is None else found[1]
    with _holding(lock, holder is None or not holder.is_dead_run_of(lock.me)):
        yield


@contextmanager
def _resumable(ctx: ReleaseContext) -> Iterator[None]:
    """Every failure after something changed (exit 1) says the exact command that resumes."""
    try:
        yield
    except ReleaseError as exc:
        if exc.exit_code == 1 and ctx.resume_command not in str(exc):
            exc.resume = f"resume with: {ctx.resume_command}"
        raise


def rollback(ctx: ReleaseContext, reporter: Reporter, *, dry_run: bool = False) -> list[Outcome]:
    """Roll the release back everywhere it went: checked first, then the steps, then verified.

    The package index is the one place no step can undo: the yank guidance for it is printed.
    """
    ctx.progress = reporter.progress
    with ctx.secrets.masking_logs(), closing(ctx), release_lock(ctx.repo), _resumable(ctx):
        for note in [] if dry_run else settle(ctx):
            reporter.info(note)
        outcomes = _rollback(ctx, reporter, dry_run)
        # last: the release rolled back to, verified as anyone gets it (a dry run shows it)
        from .rollback_verify import verify_rollback_target

        reporter.info(verify_rollback_target(ctx, dry_run=dry_run))
        return outcomes


def _rollback(ctx: ReleaseContext, reporter: Reporter, dry_run: bool) -> list[Outcome]:
    """:func:`rollback` once the clone is settled: each read shared until something is written."""
    from .steps import rollback_steps
    from .steps.rollback_remotes import yank_guidance
    from .steps.rollback_scope import rollback_preconditions

    with observing():
        lock = RemoteLock(ctx.git, ctx.config.remote, f"rollback {ctx.tag}")
        lock.check()
        finished = rollback_preconditions(ctx)
        if finished:
            reporter.info(f"{finished}; verifying every step")
        with _holding(lock, dry_run, reporter):  # a rerun of a finished rollback may act too
            outcomes = execute(ctx, rollback_steps(), reporter, dry_run=dry_run)
        reporter.info(f"package index: {yank_guidance(ctx)}")
        return outcomes
