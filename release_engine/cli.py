"""What each invoke task does, as one call: parse nothing, print through output, raise errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from .config import parse_overrides
from .context import Options
from .engine import Report, open_release, release, status
from .errors import UsageError
from .output import ConsoleReporter, emit_json, print_report, print_steps
from .rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins, workspace
from .tools import changelog
from .tools.git import Git
from .version import parse_version

__all__ = [
    "add_fragment",
    "check_fragments",
    "hotfix_command",
    "preview_changelog",
    "release_command",
    "rollback_command",
    "status_command",
]


def require(value: str | None, flag: str, example: str) -> str:
    """A missing required flag is bad input: one line, naming the flag."""
    if not value:
        raise UsageError(f"{flag} is required, for example: {example}")
    return value


def release_command(
    repo: Path,
    version: str | None,
    *,
    options: Options,
    dry_run: bool = False,
    rehearse: bool = False,
    as_json: bool = False,
    keep: bool = False,
    overrides: list[str] | None = None,
    after_step: Callable[[str], None] | None = None,
) -> Report:
    """``inv release``: cut the release (or rehearse it against local stand-ins)."""
    version = require(version, "--version", "inv release --version 1.2.3")
    parse_version(version)  # bad input: one line, before anything starts
    reporter = ConsoleReporter(sys.stderr if as_json else sys.stdout)
    if rehearse:
        with workspace(keep) as tmp, stand_ins(tmp) as s:
            reporter.info(f"rehearsing in {tmp} against local stand-ins")
            work = clone_for_rehearsal(repo, tmp)
            ctx = rehearsal_context(work, version, s, options=options)
            report = release(ctx, reporter, dry_run=dry_run, after_step=after_step)
            report.rehearsal = True
            report.notes.append(f"notifications received by the sink: {len(s.sink.received)}")
    else:
        ctx = open_release(repo, version, options=options, overrides=parse_overrides(overrides))
        report = release(ctx, reporter, dry_run=dry_run, after_step=after_step)
    if as_json:
        emit_json(report.as_dict())
    else:
        title = f"{'Rehearsal of ' if rehearse else ''}release {report.tag}"
        print_steps(report.steps, title + (" (dry run: nothing changed)" if dry_run else ""))
        if not dry_run:
            print_report(report.as_dict())
    return report


def status_command(
    repo: Path, version: str | None, *, as_json: bool = False, overrides: list[str] | None = None
) -> None:
    """``inv release.status``: every step of a release and what the world shows for it."""
    if version is None:
        from .config import load_config

        version = load_config(repo).current_version
    ctx = open_release(repo, version, overrides=parse_overrides(overrides))
    outcomes = status(ctx)
    if as_json:
        emit_json(
            {"version": ctx.version.pep440, "tag": ctx.tag, "steps": [o.__dict__ for o in outcomes]}
        )
    else:
        print_steps(outcomes, f"release {ctx.tag}")


def add_fragment(repo: Path, kind: str | None, message: str | None, issue: str | None) -> Path:
    """``inv changelog.add``: write a fragment and say where."""
    example = 'inv changelog.add --type fixed --message "Fixed ..."'
    kind = require(kind, "--type", example)
    message = require(message, "--message", example)
    path = changelog.add_fragment(repo, kind, message, issue)
    print(f"wrote {path.relative_to(repo)}")
    return path


def preview_changelog(repo: Path, version: str | None) -> str:
    """``inv changelog.preview``: the next CHANGELOG section, changing nothing."""
    import datetime as dt

    label = version or "Unreleased"
    text = changelog.draft(repo, label, dt.date.today().isoformat())
    print(text)
    return text


def check_fragments(repo: Path, compare_with: str | None) -> None:
    """``inv changelog.check``: CI's word to a contributor whose branch lacks a fragment."""
    from .errors import ReleaseError
    from .proc import run

    problems = changelog.fragment_problems(repo)
    if problems:
        raise ReleaseError("; ".join(problems))
    base = compare_with or ("origin/main" if Git(repo).rev("origin/main") else "main")
    proc = run(
        [sys.executable, "-m", "towncrier", "check", "--compare-with", base], cwd=repo, check=False
    )
    if proc.returncode != 0:
        raise ReleaseError(
            f"this branch adds no changelog fragment since {base}: add one with "
            "inv changelog.add --type fixed --message '...'"
        )
    print(f"changelog fragments OK against {base}")


def hotfix_command(repo: Path, from_tag: str | None) -> None:
    """``inv hotfix``: branch ``hotfix/vX.Y.Z+1`` from the release tag and say what comes next."""
    from_tag = require(from_tag, "--from", "inv hotfix --from v1.2.3")
    from .steps.hotfix import start_hotfix

    hotfix = start_hotfix(repo, from_tag)
    print(
        f"on {hotfix.branch} (from {hotfix.base_tag}). Next: commit the fix with a fragment "
        f"(inv changelog.add --type fixed ...), then: inv release --version {hotfix.version}"
    )


def rollback_command(repo: Path, version: str | None, *, dry_run: bool = False) -> None:
    """``inv rollback``: revert the release on main, tag the previous commit, redeploy it."""
    version = require(version, "--version", "inv rollback --version 1.2.3")
    from .context import release_lock
    from .errors import PreflightError
    from .plan import execute
    from .steps.rollback import ROLLBACK_STEPS

    ctx = open_release(repo, version, options=Options(skip_image=True))
    ctx.resume_command = f"inv rollback --version {version}"
    reporter = ConsoleReporter()
    with release_lock(repo):
        if ctx.git.tag_info(f"rollback-{ctx.tag}") is None:
            problems = []
            main = ctx.config.main_branch
            if ctx.git.current_branch() != main:
                problems.append(f"not on {main}: run git checkout {main}")
            if ctx.git.status_porcelain():
                problems.append("the working tree is not clean: commit or stash your changes")
            remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{main}")
            if remote != ctx.git.rev(main):
                problems.append(f"local {main} differs from {ctx.config.remote}/{main}: pull first")
            if problems:
                raise PreflightError(problems)
        outcomes = execute(ctx, ROLLBACK_STEPS, reporter, dry_run=dry_run)
    print_steps(outcomes, f"rollback of {ctx.tag}" + (" (dry run)" if dry_run else ""))
