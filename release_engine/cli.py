"""What each invoke task does, as one call: print through output, raise errors.

Every function takes the run's :class:`~release_engine.redact.Secrets`, made at the edge
(``tasks.py``), which redacts this module's output and the edge's error line alike. The version
is parsed here, once, and passed on as a :class:`~release_engine.version.Version`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .config import load_config, parse_overrides
from .context import Options
from .errors import ConfigError, MissingFlagError, ReleaseError
from .proc import observing, prefetch
from .redact import Secrets
from .version import parse_current_version, parse_version

# The engine, its adapters (requests, PyGithub …) and the output (rich) are imported in the
# commands that use them, after what can start early has started (_start_early).
if TYPE_CHECKING:
    from .context import ReleaseContext
    from .output import ConsoleReporter
    from .report import Report

__all__ = [
    "add_fragment",
    "check_fragments",
    "hotfix_command",
    "preview_changelog",
    "release_command",
    "release_invocation",
    "require_repository",
    "rollback_command",
    "rollback_invocation",
    "status_command",
    "verify_command",
]


def require(value: str | None, flag: str, example: str) -> str:
    """A missing required flag is bad input: one line, naming the flag (the edge adds usage).
    A flag given empty (``--version ''``) is not missing: its value is judged, in one line."""
    if value is None:
        raise MissingFlagError(f"{flag} is required, for example: {example}")
    return value


def require_repository(repo: Path) -> None:
    """Every task works in a clone: outside one (an unpacked sdist), one line, not git's."""
    from .proc import read

    # Its own top: an unpacked sdist inside another repository's work tree is not a clone.
    top = read(["git", "rev-parse", "--show-toplevel"], cwd=repo)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
        raise ConfigError(f"{repo} is not a git repository: run this in a clone of the project")


@contextmanager
def _reported_failure(
    as_json: bool, secrets: Secrets, draft: Report, reporter: ConsoleReporter
) -> Iterator[None]:
    """With ``--json``, a run that fails still prints its one object, then raises on."""
    from .output import emit_json
    from .report import failure_dict

    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            draft.steps = list(reporter.seen)
            data = failure_dict(draft, exc, started=bool(reporter.seen))
            emit_json(data, secrets=secrets)
        raise


@contextmanager
def _task_json(
    kind: str, as_json: bool, secrets: Secrets, known: dict[str, object]
) -> Iterator[dict[str, object]]:
    """With ``--json``, the task's one object: *known* (filled in as the task goes) with
    ``ok`` true at the end, or with the error when the task fails (then it raises on)."""
    from .output import emit_json
    from .report import task_dict

    try:
        yield known
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            emit_json(task_dict(kind, known, exc), secrets=secrets)
        raise
    if as_json:
        emit_json(task_dict(kind, known), secrets=secrets)


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
    is then done when the preflight asks for it. Nothing is judged here: a bad version, a
    broken configuration or a release started before (no preflight then) start nothing."""
    from .tools.bump import bump_command, known_good
    from .tools.git import Git

    try:
        parsed = parse_version(version or "")
        tag = parsed.tag(load_config(repo).tag_prefix)
        git = Git(repo)
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
    from .engine import open_release
    from .output import ConsoleReporter, emit_json, print_report, print_steps
    from .report import Report

    reporter = ConsoleReporter(sys.stderr if as_json else sys.stdout, secrets=secrets)
    draft = Report(version="", tag="", dry_run=dry_run, rehearsal=rehearse)
    with _reported_failure(as_json, secrets, draft, reporter):
        require_repository(repo)
        if version is None and rehearse:  # the next release, whatever the project is at
            version, options = _next_release(repo, options, reporter)
        text = require(version, "--version", "inv release --version 1.2.3")
        parsed = parse_version(text)
        draft.version = parsed.pep440
        settings = parse_overrides(overrides)  # bad input: one line, before anything starts
        if options.prebuilt:
            from .steps.prebuilt import require_prebuilt

            require_prebuilt(options.prebuilt)
        invocation = release_invocation(
            text, options, overrides or (), rehearse=rehearse, keep=keep, as_json=as_json
        )
        if rehearse:
            from .rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins, workspace

            with workspace(keep) as tmp, stand_ins(tmp) as s:
                draft.rehearsal_dir = str(tmp) if keep else None
                reporter.info(f"rehearsing in {tmp} against local stand-ins")
                work = clone_for_rehearsal(repo, tmp)
                ctx = rehearsal_context(
                    work, parsed, s, options=options, secrets=secrets, settings=settings
                )
                ctx.resume_command = invocation
                report = _run(ctx, draft, reporter, dry_run=dry_run, after_step=after_step)
                report.notes.append(f"notifications received by the sink: {len(s.sink.received)}")
        else:
            ctx = open_release(repo, parsed, options=options, overrides=settings, secrets=secrets)
            ctx.resume_command = invocation
            report = _run(ctx, draft, reporter, dry_run=dry_run, after_step=after_step)
    if as_json:
        emit_json(report.as_dict(), secrets=secrets)
    else:
        title = f"{'Rehearsal of ' if rehearse else ''}release {report.tag}"
        title += " (dry run: nothing changed)" if dry_run else ""
        print_steps(report.steps, title, secrets=secrets)
        if not dry_run:
            print_report(report, secrets=secrets)
    return report


def _next_release(repo: Path, options: Options, reporter: ConsoleReporter) -> tuple[str, Options]:
    """What ``inv release --rehearse`` without ``--version`` rehearses: the version
    ``release.status`` suggests; with no fragment waiting, the next patch, released empty
    (a rehearsal publishes nothing real: the machinery is what it shows)."""
    from dataclasses import replace

    from .cadence import suggested_release

    config = load_config(repo)
    current = parse_current_version(config.current_version)
    version, waiting = suggested_release(repo, current, config.tag_prefix)
    why = "the suggested next version" if waiting else "no fragment waits: the next patch, empty"
    reporter.info(f"rehearsing {version}, {why} (--version X.Y.Z rehearses another)")
    return version.pep440, options if waiting else replace(options, allow_empty=True)


def release_invocation(
    version: str,
    options: Options,
    overrides: Sequence[str] = (),
    *,
    rehearse: bool = False,
    keep: bool = False,
    as_json: bool = False,
) -> str:
    """The ``inv release`` command line that was run, every flag and ``--set`` included, in
    the order ``inv --help release`` lists them: the command a failure tells the user to run
    again. Credentials never travel on it (they come from the environment), so none is here.
    """
    words = ["inv", "release", "--version", version]
    flags = {
        "--rehearse": rehearse,
        "--keep": keep,
        "--json": as_json,
        "--allow-empty": options.allow_empty,
        "--allow-semver-break": options.allow_semver_break,
        "--skip-ci": options.skip_ci,
        "--skip-review": options.skip_review,
        "--skip-prerelease": options.skip_prerelease,
        "--skip-image": options.skip_image,
        "--skip-channels": options.skip_channels,
        "--skip-docs": options.skip_docs,
    }
    words += [flag for flag, given in flags.items() if given]
    words += ["--prebuilt", options.prebuilt] if options.prebuilt else []
    for pair in overrides:
        words += ["--set", pair]
    return shlex.join(words)


def rollback_invocation(version: str, overrides: Sequence[str] = ()) -> str:
    """The ``inv rollback`` command line that was run, every ``--set`` included."""
    words = ["inv", "rollback", "--version", version]
    for pair in overrides:
        words += ["--set", pair]
    return shlex.join(words)


def _run(
    ctx: ReleaseContext,
    draft: Report,
    reporter: ConsoleReporter,
    *,
    dry_run: bool,
    after_step: Callable[[str], None] | None,
) -> Report:
    """Release *ctx*; *draft* holds what is known meanwhile, for the report of a failure."""
    from .engine import release
    from .report import waived_checks

    draft.tag, draft.resume = ctx.tag, ctx.resume_command
    draft.waived = waived_checks(ctx.options)
    report = release(ctx, reporter, dry_run=dry_run, after_step=after_step)
    report.rehearsal, report.rehearsal_dir = draft.rehearsal, draft.rehearsal_dir
    report.waived, report.resume = draft.waived, draft.resume
    report.latest = ctx.is_newest
    report.commit = None if dry_run else ctx.git.rev(ctx.tag)
    return report


def status_command(
    repo: Path,
    version: str | None,
    *,
    secrets: Secrets,
    as_json: bool = False,
    overrides: list[str] | None = None,
) -> None:
    """``inv release.status``: every step of a release and what the world shows for it.

    Without *version* (the current one), it first shows the cadence: the last release, the
    fragments waiting, the suggested next version and what ``latest`` points at on each remote.
    """
    from . import __version__
    from .engine import open_release, status_and_cadence
    from .output import emit_json, print_cadence, print_steps
    from .proc import in_background
    from .report import status_dict

    pep440, tag, seen = None, None, None
    try:
        require_repository(repo)
        settings = parse_overrides(overrides)
        if version is not None:
            parsed = parse_version(version)
        else:  # the last release, or the next one the cadence suggests (X.Y.Z.devN: X.Y.Z)
            from .cadence import described_release

            config = load_config(repo)
            current = parse_current_version(config.current_version)
            parsed = described_release(repo, current, config.tag_prefix)
        pep440 = parsed.pep440
        ctx = open_release(repo, parsed, overrides=settings, secrets=secrets)
        tag = ctx.tag
        with observing():  # the cadence, the lock and the steps read each fact once
            holder = in_background(_lock_state, ctx)
            # The question "what next?" is asked without a version: the cadence.
            outcomes, seen = status_and_cadence(ctx, cadence=version is None)
            lock = holder.result()
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            emit_json(status_dict(pep440, tag, [], exc), secrets=secrets)
        raise
    if as_json:
        data = status_dict(pep440, tag, outcomes)
        if seen is not None:
            data["cadence"] = seen.as_dict()
        data["lock"] = lock
        emit_json(data, secrets=secrets)
    else:
        if seen is not None:
            print_cadence(seen, secrets=secrets)
        if lock is not None:
            stale = " (stale: past its expiry)" if lock["stale"] else ""
            print(secrets.redact(f"release lock: held, {lock['holder']}{stale}"))
        print_steps(outcomes, f"release {tag} (release engine {__version__})", secrets=secrets)


def _lock_state(ctx: ReleaseContext) -> dict[str, object] | None:
    """Who holds the remote's release lock, if anyone: a release under way somewhere."""
    import time

    from .remote_lock import read_holder

    try:
        found = read_holder(ctx.git, ctx.config.remote)
    except ReleaseError as exc:  # status shows what it can; the steps say the remote is down
        return {"holder": f"unknown ({exc.message})", "what": None, "stale": False}
    if found is None:
        return None
    sha, holder = found
    if holder is None:
        return {"holder": f"a commit {sha[:12]} this engine did not write", "what": None,
                "stale": False}  # fmt: skip
    return {"holder": holder.describe(), "what": holder.what, "stale": holder.expires < time.time()}


def add_fragment(
    repo: Path, kind: str | None, message: str | None, issue: str | None, breaking: bool = False
) -> Path:
    """``inv changelog.add``: write a fragment and say where (``--breaking``: a changed
    fragment marked ``BREAKING:``, ``--type changed`` by default)."""
    from .tools import changelog

    example = 'inv changelog.add --type fixed --message "Fixed ..."'
    kind = require(kind or ("changed" if breaking else None), "--type", example)
    message = require(message, "--message", example)
    path = changelog.add_fragment(repo, kind, message, issue, breaking=breaking)
    print(f"wrote {path.relative_to(repo)}")
    return path


def preview_changelog(repo: Path, version: str | None) -> str:
    """``inv changelog.preview``: the next CHANGELOG section, changing nothing."""
    import datetime as dt

    from .tools import changelog

    label = version or "Unreleased"
    text = changelog.draft(repo, label, dt.date.today().isoformat())
    print(text)
    return text


def check_fragments(
    repo: Path,
    compare_with: str | None,
    *,
    as_json: bool = False,
    secrets: Secrets | None = None,
) -> None:
    """``inv changelog.check``: CI's word to a contributor whose branch lacks a fragment.

    A commit of the branch with the trailer ``Changelog: skip`` says no fragment is needed.
    """
    from .proc import read
    from .tools import changelog
    from .tools.git import Git

    known: dict[str, object] = {"base": None, "fragments": [], "skipped_by": None}
    with _task_json("changelog-check", as_json, secrets or Secrets(), known):
        require_repository(repo)
        problems = changelog.fragment_problems(repo)
        if problems:
            raise ReleaseError("; ".join(problems))
        base = compare_with or ("origin/main" if Git(repo).rev("origin/main") else "main")
        known["base"] = base
        known["fragments"] = changelog.added_fragments(repo, base)
        skipping = changelog.skip_trailers(repo, base)
        if skipping:
            known["skipped_by"] = skipping[0]
            _say(
                as_json,
                f"no changelog fragment needed: commit {skipping[0][:12]} since {base} has the "
                "trailer 'Changelog: skip'",
            )
            return
        if read(changelog.check_command(repo, base), cwd=repo).returncode != 0:
            raise ReleaseError(
                f"this branch adds no changelog fragment since {base}: add one with "
                "inv changelog.add --type fixed --message 'Fixed ...', or, for a change no user "
                "can notice, add the trailer 'Changelog: skip' to a commit message"
            )
        _say(as_json, f"changelog fragments OK against {base}")


def _say(as_json: bool, text: str) -> None:
    """A task's line for people: on stdout, or on stderr when stdout carries the JSON."""
    print(text, file=sys.stderr if as_json else sys.stdout)


def hotfix_command(
    repo: Path, from_tag: str | None, *, as_json: bool = False, secrets: Secrets | None = None
) -> None:
    """``inv hotfix``: branch ``hotfix/vX.Y.Z+1`` from the release tag and say what comes next."""
    from .steps.hotfix import start_hotfix

    known: dict[str, object] = {"from_tag": from_tag, "version": None, "branch": None, "next": None}
    with _task_json("hotfix", as_json, secrets or Secrets(), known):
        from_tag = require(from_tag, "--from", "inv hotfix --from v1.2.3")
        require_repository(repo)
        hotfix = start_hotfix(repo, from_tag)
        next_command = f"inv release --version {hotfix.version}"
        known.update(
            from_tag=hotfix.base_tag,
            version=hotfix.version.pep440,
            branch=hotfix.branch,
            next=next_command,
        )
        _say(
            as_json,
            f"on {hotfix.branch} (from {hotfix.base_tag}). Next: commit the fix with a fragment "
            f"(inv changelog.add --type fixed ...), then: {next_command}",
        )


def rollback_command(
    repo: Path,
    version: str | None,
    *,
    secrets: Secrets,
    dry_run: bool = False,
    as_json: bool = False,
    overrides: list[str] | None = None,
) -> None:
    """``inv rollback``: revert the release on main, tag the previous commit, redeploy it."""
    from .engine import open_release, rollback
    from .output import ConsoleReporter, print_steps
    from .report import outcome_dict

    reporter = ConsoleReporter(sys.stderr if as_json else sys.stdout, secrets=secrets)
    known: dict[str, object] = {
        "version": None, "tag": None, "dry_run": dry_run, "steps": [], "resume": None,
    }  # fmt: skip
    with _task_json("rollback", as_json, secrets, known):
        text = require(version, "--version", "inv rollback --version 1.2.3")
        require_repository(repo)
        parsed = parse_version(text)
        known["version"] = parsed.pep440
        settings = parse_overrides(overrides)
        ctx = open_release(
            repo, parsed, options=Options(skip_image=True), overrides=settings, secrets=secrets
        )
        known["tag"] = ctx.tag
        ctx.resume_command = rollback_invocation(text, overrides or ())
        try:
            outcomes = rollback(ctx, reporter, dry_run=dry_run)
        except (Exception, KeyboardInterrupt):
            if reporter.seen:  # it started: the same command finishes it
                known["resume"] = ctx.resume_command
            raise
        finally:
            known["steps"] = [outcome_dict(o) for o in reporter.seen]
        known["steps"] = [outcome_dict(o) for o in outcomes]
    if not as_json:
        title = f"rollback of {ctx.tag}" + (" (dry run)" if dry_run else "")
        print_steps(outcomes, title, secrets=secrets)


def verify_command(
    repo: Path, version: str | None, *, secrets: Secrets, overrides: list[str] | None = None
) -> None:
    """``inv release.verify``: what the index, the registry and GitHub serve for the version,
    checked against its SHA256SUMS, its SBOM and each other; then the wheel and image run."""
    from .engine import open_release
    from .errors import VerificationError
    from .verify import verify_release

    text = require(version, "--version", "inv release.verify --version 1.2.3")
    require_repository(repo)
    ctx = open_release(
        repo, parse_version(text), overrides=parse_overrides(overrides), secrets=secrets
    )
    found = verify_release(ctx)
    for line in found.checked:
        print(secrets.redact(f"ok: {line}"))
    for line in found.problems:
        print(secrets.redact(f"mismatch: {line}"), file=sys.stderr)
    if found.problems:
        raise VerificationError(
            f"{len(found.problems)} mismatch(es) in what is published for {ctx.tag} (above)"
        )
    print(secrets.redact(f"{ctx.tag}: every published artifact verified"))
