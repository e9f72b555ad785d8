"""``inv release``: cut the release, or rehearse it, and print what it did.

The command starts bump-my-version's dry run early (:func:`_start_early`) while the engine
loads; then the release (or :mod:`.rehearse`) runs, and its report is printed: the step table
and the report for people, or one JSON object (``--json``), also when the run fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import load_config, parse_overrides
from ..context import Options
from ..errors import ReleaseError
from ..proc import observing, prefetch
from ..redact import Secrets
from ..version import parse_version
from .common import require, require_repository
from .invocation import release_invocation
from .rehearse import next_release, rehearse_release, require_standins

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from ..output import ConsoleReporter
    from ..report import Report

__all__ = ["release_command"]


def release_command(
    repo: Path,
    version: str | None,
    *,
    options: Options,
    secrets: Secrets,
    dry_run: bool = False,
    rehearse: bool = False,
    as_json: bool = False,
    keep: bool = False,
    overrides: list[str] | None = None,
    after_step: Callable[[str], None] | None = None,
) -> Report:
    """``inv release``: cut the release (or rehearse it against local stand-ins)."""
    with observing():  # every read of the run shared, from the first one on
        if not rehearse:
            _start_early(repo, version)
        return _release_command(
            repo, version, options=options, secrets=secrets, dry_run=dry_run,
            rehearse=rehearse, as_json=as_json, keep=keep, overrides=overrides,
            after_step=after_step,
        )  # fmt: skip


def _start_early(repo: Path, version: str | None) -> None:
    """Start bump-my-version's dry run of a new release now, in the background, while the
    engine loads: the preflight's slowest check (a process of its own, over half a second)
    is then done when the preflight asks for it; so is the list of the remote's refs.
    Nothing is judged here: a bad version, a broken configuration or a release started
    before (no preflight then) start nothing."""
    from ..tools.bump import bump_command, known_good
    from ..tools.git import Git

    try:
        parsed = parse_version(version or "")
        config = load_config(repo)
        tag = parsed.tag(config.tag_prefix)
        git = Git(repo)
        # Every ref of the remote (a list as long as its tags), asked by the first checks.
        prefetch(["git", "ls-remote", config.remote], cwd=repo)
        if git.branch_exists(f"release/{tag}") or git.tag_info(tag) is not None:
            return
    except ReleaseError:
        return
    bump = bump_command(repo, parsed.pep440, dry_run=True)
    if not known_good(git, bump):
        prefetch(bump.argv, cwd=bump.cwd)


def _release_command(
    repo: Path,
    version: str | None,
    *,
    options: Options,
    secrets: Secrets,
    dry_run: bool,
    rehearse: bool,
    as_json: bool,
    keep: bool,
    overrides: list[str] | None,
    after_step: Callable[[str], None] | None,
) -> Report:
    from ..engine import open_release
    from ..output import ConsoleReporter, print_release
    from ..report import Report

    reporter = ConsoleReporter(sys.stderr if as_json else sys.stdout, secrets=secrets)
    draft = Report(version="", tag="", dry_run=dry_run, rehearsal=rehearse)
    run = partial(_run, dry_run=dry_run, after_step=after_step)
    with _reported_failure(as_json, secrets, draft, reporter):
        if rehearse:  # their libraries are the `rehearsal` group: missing, one line
            require_standins()
        require_repository(repo)
        if version is None and rehearse:  # the next release, whatever the project is at
            version, options = next_release(repo, options, reporter)
        text = require(version, "--version", "inv release --version 1.2.3")
        parsed = parse_version(text)
        draft.version = parsed.pep440
        settings = parse_overrides(overrides)  # bad input: one line, before anything starts
        if options.prebuilt:
            from ..remotes.index.prebuilt import require_prebuilt

            require_prebuilt(options.prebuilt)
        invocation = release_invocation(
            text, options, overrides or (), rehearse=rehearse, keep=keep, as_json=as_json
        )
        if rehearse:
            report = rehearse_release(
                repo, parsed, run, draft, reporter, options=options, secrets=secrets,
                settings=settings, invocation=invocation, keep=keep,
            )  # fmt: skip
        else:
            ctx = open_release(repo, parsed, options=options, overrides=settings, secrets=secrets)
            ctx.resume_command = invocation
            report = run(ctx, draft, reporter)
    print_release(report, as_json=as_json, secrets=secrets)
    return report


@contextmanager
def _reported_failure(
    as_json: bool, secrets: Secrets, draft: Report, reporter: ConsoleReporter
) -> Iterator[None]:
    """With ``--json``, a run that fails still prints its one object, then raises on."""
    from ..output import emit_json
    from ..report import failure_dict

    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            draft.steps = list(reporter.seen)
            data = failure_dict(draft, exc, started=bool(reporter.seen))
            emit_json(data, secrets=secrets)
        raise


def _run(
    ctx: ReleaseContext,
    draft: Report,
    reporter: ConsoleReporter,
    *,
    dry_run: bool,
    after_step: Callable[[str], None] | None,
) -> Report:
    """Release *ctx*; *draft* holds what is known meanwhile, for the report of a failure."""
    from ..engine import release
    from ..report import waived_checks

    draft.tag, draft.resume = ctx.tag, ctx.resume_command
    draft.waived = waived_checks(ctx.options)
    report = release(ctx, reporter, dry_run=dry_run, after_step=after_step)
    report.rehearsal, report.rehearsal_dir = draft.rehearsal, draft.rehearsal_dir
    report.waived, report.resume = draft.waived, draft.resume
    report.latest = ctx.is_newest
    report.commit = None if dry_run else ctx.git.rev(ctx.tag)
    return report
