"""What each invoke task does, as one call: parse nothing, print through output, raise errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from . import changelog
from .context import Options
from .engine import Report, open_release, release, status
from .git import Git
from .output import ConsoleReporter, emit_json, print_report, print_steps
from .rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins, workspace
from .version import parse_version

__all__ = ["add_fragment", "preview_changelog", "release_command", "status_command"]


def release_command(
    repo: Path,
    version: str,
    *,
    options: Options,
    dry_run: bool = False,
    rehearse: bool = False,
    as_json: bool = False,
    keep: bool = False,
    after_step: Callable[[str], None] | None = None,
) -> Report:
    """``inv release``: cut the release (or rehearse it against local stand-ins)."""
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
        ctx = open_release(repo, version, options=options)
        report = release(ctx, reporter, dry_run=dry_run, after_step=after_step)
    if as_json:
        emit_json(report.as_dict())
    else:
        title = f"{'Rehearsal of ' if rehearse else ''}release {report.tag}"
        print_steps(report.steps, title + (" (dry run: nothing changed)" if dry_run else ""))
        if not dry_run:
            print_report(report.as_dict())
    return report


def status_command(repo: Path, version: str | None, *, as_json: bool = False) -> None:
    """``inv release.status``: every step of a release and what the world shows for it."""
    if version is None:
        from .config import load_config

        version = load_config(repo).current_version
    ctx = open_release(repo, version)
    outcomes = status(ctx)
    if as_json:
        emit_json({"version": ctx.version.pep440, "tag": ctx.tag,
                   "steps": [o.__dict__ for o in outcomes]})
    else:
        print_steps(outcomes, f"release {ctx.tag}")


def add_fragment(repo: Path, kind: str, message: str, issue: str | None) -> Path:
    """``inv changelog.add``: write a fragment and say where."""
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

    scanned = changelog.scan_fragments(repo)
    if scanned.unknown:
        names = ", ".join(p.name for p in scanned.unknown)
        raise ReleaseError(f"fragment(s) of unknown type would be dropped: {names}; valid "
                           f"types: {', '.join(scanned.types)}")
    base = compare_with or ("origin/main" if Git(repo).rev("origin/main") else "main")
    proc = run([sys.executable, "-m", "towncrier", "check", "--compare-with", base],
               cwd=repo, check=False)
    if proc.returncode != 0:
        raise ReleaseError(f"this branch adds no changelog fragment since {base}: add one with "
                           "inv changelog.add --type fixed --message '...'")
    print(f"changelog fragments OK against {base}")
