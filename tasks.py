"""Release tasks for the Market Data Ingestion System: the release process, one command a step
(docs/RELEASING.md retells the process and maps each step to its command).

    inv release --version 1.2.3 [--dry-run] [--rehearse] [--json] [--allow-empty]
                [--allow-semver-break]
    inv release.status [--version 1.2.3] [--json]
    inv release.verify --version 1.2.3
    inv hotfix --from v1.2.3
    inv rollback --version 1.2.3 [--dry-run] [--set KEY=VALUE]
    inv changelog.add --type fixed --message "..." [--issue 123] [--breaking]
    inv changelog.preview
    inv changelog.check

Each task parses its flags and makes one call into ``release_engine``. Short flags are chosen
here, once, and mean the same in every task (``-v`` version, ``-n`` dry run, ``-j`` JSON,
``-s`` set); a flag that waives a check has none, so it is always typed out in full.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.program import Program
from invoke.tasks import Task, task

# invoke turns the writing of bytecode off (its `--write-pyc` turns it on), so that no
# __pycache__ appears beside a tasks.py. It would also leave the engine's package, which
# this file loads, without one: every command then compiled the hundred modules it imports,
# some 200 ms of a 0.6 s dry run (bench/run.py). The engine's modules are written as the
# interpreter would write them: never where it was told not to (-B, PYTHONDONTWRITEBYTECODE).
if not sys.flags.dont_write_bytecode:
    sys.dont_write_bytecode = False

# Only what every command needs is imported here: the engine (and with it the tools, the
# stand-ins of a rehearsal, the GitHub client …) loads when a task runs, so `inv --list` and
# `inv --help` cost what invoke costs.
from release_engine.errors import MissingFlagError, ReleaseError
from release_engine.redact import Secrets
from release_engine.usage import bad_input_line

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["ns"]

ROOT = Path(__file__).resolve().parent
SET_HELP = (
    "override a [tool.release] setting, KEY=VALUE, repeatable "
    "(e.g. --set index_url=https://test.pypi.org/legacy/)"
)
# Long flag -> its short flag, in every task that has the long one. None of invoke's own.
SHORT_FLAGS = {
    "version": "v",
    "dry-run": "n",
    "json": "j",
    "set": "s",
    "keep": "k",
    "type": "t",
    "message": "m",
    "issue": "i",
}


class ProcessTask(Task[Any]):
    """A task whose short flags come from :data:`SHORT_FLAGS`, and whose help reads twice."""

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        kept = dict(self.help)  # invoke consumes it; the usage of a missing flag reads it again
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept
        for argument in arguments:
            short = SHORT_FLAGS.get(argument.names[0])
            if short is not None:
                argument.names = (*argument.names, short)
        return arguments


def process_task(**options: Any) -> Callable[[Callable[..., None]], ProcessTask]:
    """invoke's ``@task``, making a :class:`ProcessTask`: no short flag but those chosen."""
    decorate: Callable[[Callable[..., None]], ProcessTask]
    decorate = task(klass=ProcessTask, auto_shortflags=False, **options)
    return decorate


def _usage(name: str) -> None:
    """``inv --help NAME``, on stderr: shown with the error when a required flag is missing."""
    with redirect_stdout(sys.stderr):
        Program(namespace=ns, binary="inv[oke]").run(["inv", "--help", name], exit=False)


def _cli() -> ModuleType:
    """``release_engine.cli``, imported when a task runs."""
    from release_engine import cli

    return cli


@contextmanager
def _errors(name: str) -> Iterator[Secrets]:
    """The run's secrets; the engine's errors become one redacted line and an exit, here."""
    secrets = Secrets()
    try:
        yield secrets
    except MissingFlagError as exc:
        _usage(name)
        raise Exit(secrets.redact(f"error: {exc}"), code=exc.exit_code) from None
    except ReleaseError as exc:  # 2 bad input, 3 refused (nothing changed), 1 failed midway
        raise Exit(secrets.redact(f"error: {exc}"), code=exc.exit_code) from None
    except KeyboardInterrupt:
        raise Exit("interrupted: run the same command again to resume", code=130) from None


@process_task(
    name="release",
    positional=[],
    iterable=["set_"],
    help={
        "version": "the version to release, MAJOR.MINOR.PATCH (1.2.3) or a pre-release (1.3.0rc1);"
        " with --rehearse, the next one by default",
        "dry_run": "run every check and read; print every write instead of doing it",
        "rehearse": "release a throwaway clone against local stand-ins (index, registry, GitHub)",
        "json": "print one JSON report on stdout, on failure too (progress goes to stderr)",
        "allow_empty": "release even when changelog.d/ holds no fragment",
        "allow_semver_break": "release a version smaller than the changes need (semver guard;"
        " shown in report and GitHub release notes)",
        "skip_ci": "do not require green CI on GitHub for the released commit (shown in report)",
        "skip_review": "do not require an approved pull request (shown in report)",
        "skip_prerelease": "do not require a green 'nox -s prerelease' run for the commit",
        "skip_image": "do not build or push the container image",
        "skip_channels": "release even when a channel of required_channels is not configured"
        " (shown in report)",
        "skip_docs": "release news (added/changed/deprecated/removed) without a documentation"
        " change since the previous release (shown in report)",
        "keep": "with --rehearse: keep the rehearsal directory",
        "prebuilt": "a directory with the sdist and wheel built elsewhere (CI's build job):"
        " used when a rebuild from the tag gives the same sha256, refused otherwise",
        "set": SET_HELP,
    },
)
def release_(
    c: Context,
    version: str | None = None,
    dry_run: bool = False,
    rehearse: bool = False,
    json: bool = False,
    allow_empty: bool = False,
    allow_semver_break: bool = False,
    skip_ci: bool = False,
    skip_review: bool = False,
    skip_prerelease: bool = False,
    skip_image: bool = False,
    skip_channels: bool = False,
    skip_docs: bool = False,
    keep: bool = False,
    prebuilt: str | None = None,
    set_: list[str] | None = None,
) -> None:
    """Cut a release: checks, branch, bump, changelog, tag, merge, push, publish, notify."""
    from release_engine.context import Options

    options = Options(
        allow_empty=allow_empty,
        skip_ci=skip_ci,
        skip_review=skip_review,
        skip_prerelease=skip_prerelease,
        skip_image=skip_image,
        skip_channels=skip_channels,
        skip_docs=skip_docs,
        allow_semver_break=allow_semver_break,
        prebuilt=prebuilt,
    )
    with _errors("release") as secrets:
        _cli().release_command(
            ROOT,
            version,
            options=options,
            secrets=secrets,
            dry_run=dry_run,
            rehearse=rehearse,
            as_json=json,
            keep=keep,
            overrides=set_ or [],
        )


@process_task(
    positional=[],
    iterable=["set_"],
    help={
        "version": "the release to look at (default: the current version)",
        "json": "print one JSON object, with the release engine's version",
        "set": SET_HELP,
    },
)
def status(
    c: Context, version: str | None = None, json: bool = False, set_: list[str] | None = None
) -> None:
    """Show every release step and what the real world shows for it; changes nothing."""
    with _errors("release.status") as secrets:
        _cli().status_command(ROOT, version, secrets=secrets, as_json=json, overrides=set_ or [])


@process_task(
    positional=[],
    help={
        "type": "added, changed, deprecated, removed, fixed or security",
        "message": "one user-facing sentence in the past tense",
        "issue": "the issue number, if there is one",
        "breaking": "mark a changed fragment BREAKING: (the semver guard then needs a major)",
    },
)
def add(
    c: Context,
    type: str | None = None,
    message: str | None = None,
    issue: str | None = None,
    breaking: bool = False,
) -> None:
    """Add a changelog fragment to changelog.d/."""
    with _errors("changelog.add"):
        _cli().add_fragment(ROOT, type, message, issue, breaking)


@process_task(help={"version": "the version to title the section with (default: Unreleased)"})
def preview(c: Context, version: str | None = None) -> None:
    """Print the next CHANGELOG section as towncrier would write it; changes nothing."""
    with _errors("changelog.preview"):
        _cli().preview_changelog(ROOT, version)


JSON_HELP = "print one JSON object on stdout, on failure too (messages go to stderr)"


@process_task(
    help={
        "compare_with": "the branch to compare with (default: origin/main, else main)",
        "json": JSON_HELP,
    }
)
def check(c: Context, compare_with: str | None = None, json: bool = False) -> None:
    """Fail when this branch adds no fragment (unless a commit says `Changelog: skip`)."""
    with _errors("changelog.check") as secrets:
        _cli().check_fragments(ROOT, compare_with, as_json=json, secrets=secrets)


@process_task(
    positional=[], help={"from_": "the release tag to fix, such as v1.2.3", "json": JSON_HELP}
)
def hotfix(c: Context, from_: str | None = None, json: bool = False) -> None:
    """Start a hotfix: branch hotfix/vX.Y.Z+1 from the release tag."""
    with _errors("hotfix") as secrets:
        _cli().hotfix_command(ROOT, from_, as_json=json, secrets=secrets)


@process_task(
    positional=[],
    iterable=["set_"],
    help={
        "version": "the release to roll back, such as 1.2.3",
        "dry_run": "show what would be done; change nothing",
        "json": JSON_HELP,
        "set": SET_HELP,
    },
)
def rollback(
    c: Context,
    version: str | None = None,
    dry_run: bool = False,
    json: bool = False,
    set_: list[str] | None = None,
) -> None:
    """Roll a release back: revert its merge on main, tag and redeploy the previous version."""
    with _errors("rollback") as secrets:
        _cli().rollback_command(
            ROOT, version, secrets=secrets, dry_run=dry_run, as_json=json, overrides=set_ or []
        )


@process_task(
    positional=[],
    iterable=["set_"],
    help={"version": "the published release to verify, such as 1.2.3", "set": SET_HELP},
)
def verify(c: Context, version: str | None = None, set_: list[str] | None = None) -> None:
    """Check what the index, the registry and GitHub serve for a release; run it."""
    with _errors("release.verify") as secrets:
        _cli().verify_command(ROOT, version, secrets=secrets, overrides=set_ or [])


class ReleaseCollection(Collection):
    """``release.status``; plain ``release`` is a task of the root, listed under that name.

    invoke would list a collection's default task as ``release.release (release)``. Looking
    up ``release`` reaches this collection before the root's task of that name (invoke looks
    for collections first), so this collection answers the empty name with that same task.
    """

    def __init__(self, name: str, main: Task[Any], *tasks: Task[Any]) -> None:
        super().__init__(name, *tasks)
        self.main = main

    def task_with_config(self, name: str | None) -> tuple[str, dict[str, Any]]:
        if not name:
            return self.main, self.configuration()  # type: ignore[return-value]  # a Task
        return super().task_with_config(name)


ns = Collection(Collection("changelog", add, preview, check), hotfix, rollback)
ns.add_collection(ReleaseCollection("release", release_, status, verify))
ns.tasks["release"] = release_  # add_task refuses a task named like a collection: on purpose


def _parse_tasks(program: Program) -> None:
    """invoke's own parsing of the tasks' flags, where a parse error is bad input: exit 2, one
    line, the closest flag or task suggested (invoke alone exits 1: "failed midway" here).
    invoke loads this file before it parses the tasks' flags, so the tasks' own flags are
    covered; a mistyped core flag before any task (``inv --lsit``) stays invoke's."""
    try:
        _invoke_parse_tasks(program)
    except ParseError as exc:
        context = exc.context
        task = context.name if context is not None else None
        flags = list(context.flags) if context is not None else []
        names = program.collection.task_names if program.collection is not None else {}
        raise Exit(bad_input_line(str(exc), task, flags, names), code=2) from None


_invoke_parse_tasks = Program.parse_tasks
Program.parse_tasks = _parse_tasks  # type: ignore[method-assign, assignment]


def _execute(program: Program) -> None:
    """invoke's own running of the tasks; then, in the ``inv`` process itself, the end of the
    process without the interpreter's teardown (:func:`_exit_now`)."""
    _invoke_execute(program)
    _end_of_inv()


def _list_tasks(program: Program) -> None:
    """invoke's ``--list``, ended as :func:`_execute` ends."""
    _invoke_list_tasks(program)
    _end_of_inv()


def _end_of_inv() -> None:
    if Path(sys.argv[0]).name in ("inv", "invoke"):  # not a program run inside another one
        _exit_now(0)


def _exit_now(code: int) -> None:
    """End the process as the interpreter would, less its teardown. At exit, Python runs the
    exit handlers, then frees every module and object one by one: after a dry run or a status
    that loaded some six hundred modules, 50 ms of the 0.6 s the command takes on a 2-core
    machine (bench/run.py). The handlers run here (logging's flush, temporary directories'
    cleanup), the output is flushed, and the process ends with *code*: what the teardown
    would free, the operating system frees. Instagram does the same to its web workers
    ("Dismissing Python Garbage Collection at Instagram")."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError):  # a reader gone (`| head`): nothing more can reach it
            stream.flush()
    os._exit(code)


_invoke_execute = Program.execute
Program.execute = _execute  # type: ignore[method-assign, assignment]
_invoke_list_tasks = Program.list_tasks
Program.list_tasks = _list_tasks  # type: ignore[method-assign, assignment]
