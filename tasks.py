"""Release tasks for the Market Data Ingestion System: RELEASE_PROCESS.md, one command a step.

    inv release --version 1.2.3 [--dry-run] [--rehearse] [--json] [--allow-empty]
    inv release.status [--version 1.2.3]
    inv hotfix --from v1.2.3
    inv rollback --version 1.2.3
    inv changelog.add --type fixed --message "..." [--issue 123]
    inv changelog.preview

Each task parses its flags and makes one call into ``release_engine``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from release_engine import cli
from release_engine.context import Options
from release_engine.errors import ReleaseError
from release_engine.redact import Secrets

ROOT = Path(__file__).resolve().parent
SET_HELP = (
    "override a [tool.release] setting, KEY=VALUE, repeatable "
    "(e.g. --set index_url=https://test.pypi.org/legacy/)"
)


@contextmanager
def _errors() -> Iterator[Secrets]:
    """The run's secrets; the engine's errors become one redacted line and an exit, here."""
    secrets = Secrets()
    try:
        yield secrets
    except ReleaseError as exc:
        raise Exit(secrets.redact(f"error: {exc}"), code=1) from None
    except KeyboardInterrupt:
        raise Exit("interrupted: run the same command again to resume", code=130) from None


@task(
    default=True,
    positional=[],
    iterable=["set_"],
    help={
        "version": "the version to release, MAJOR.MINOR.PATCH (1.2.3) or a pre-release (1.3.0rc1)",
        "dry_run": "run every check and read; print every write instead of doing it",
        "rehearse": "release a throwaway clone against local stand-ins (index, registry, GitHub)",
        "json": "print one JSON report on stdout (progress goes to stderr)",
        "allow_empty": "release even when changelog.d/ holds no fragment",
        "skip_ci": "do not require green CI on GitHub for the released commit (shown in report)",
        "skip_review": "do not require an approved pull request (shown in report)",
        "skip_prerelease": "do not require a green 'nox -s prerelease' run for the commit",
        "skip_image": "do not build or push the container image",
        "keep": "with --rehearse: keep the rehearsal directory",
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
    skip_ci: bool = False,
    skip_review: bool = False,
    skip_prerelease: bool = False,
    skip_image: bool = False,
    keep: bool = False,
    set_: list[str] | None = None,
) -> None:
    """Cut a release: checks, branch, bump, changelog, tag, merge, push, publish, notify."""
    options = Options(
        allow_empty=allow_empty,
        skip_ci=skip_ci,
        skip_review=skip_review,
        skip_prerelease=skip_prerelease,
        skip_image=skip_image,
    )
    with _errors() as secrets:
        cli.release_command(
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


@task(
    positional=[],
    iterable=["set_"],
    help={
        "version": "the release to look at (default: the current version)",
        "json": "print one JSON object",
        "set": SET_HELP,
    },
)
def status(
    c: Context, version: str | None = None, json: bool = False, set_: list[str] | None = None
) -> None:
    """Show every release step and what the real world shows for it; changes nothing."""
    with _errors() as secrets:
        cli.status_command(ROOT, version, secrets=secrets, as_json=json, overrides=set_ or [])


@task(
    positional=[],
    help={
        "type": "added, changed, deprecated, removed, fixed or security",
        "message": "one user-facing sentence in the past tense",
        "issue": "the issue number, if there is one",
    },
)
def add(
    c: Context, type: str | None = None, message: str | None = None, issue: str | None = None
) -> None:
    """Add a changelog fragment to changelog.d/."""
    with _errors():
        cli.add_fragment(ROOT, type, message, issue)


@task(help={"version": "the version to title the section with (default: Unreleased)"})
def preview(c: Context, version: str | None = None) -> None:
    """Print the next CHANGELOG section as towncrier would write it; changes nothing."""
    with _errors():
        cli.preview_changelog(ROOT, version)


@task(help={"compare_with": "the branch to compare with (default: origin/main, else main)"})
def check(c: Context, compare_with: str | None = None) -> None:
    """Fail when this branch adds no fragment, or a fragment has an unknown type."""
    with _errors():
        cli.check_fragments(ROOT, compare_with)


@task(positional=[], help={"from_": "the release tag to fix, such as v1.2.3"})
def hotfix(c: Context, from_: str | None = None) -> None:
    """Start a hotfix: branch hotfix/vX.Y.Z+1 from the release tag."""
    with _errors():
        cli.hotfix_command(ROOT, from_)


@task(
    positional=[],
    help={
        "version": "the release to roll back, such as 1.2.3",
        "dry_run": "show what would be done; change nothing",
    },
)
def rollback(c: Context, version: str | None = None, dry_run: bool = False) -> None:
    """Roll a release back: revert its merge on main, tag and redeploy the previous version."""
    with _errors() as secrets:
        cli.rollback_command(ROOT, version, secrets=secrets, dry_run=dry_run)


release_ns = Collection("release")
release_ns.add_task(release_, name="release", default=True)
release_ns.add_task(status)

changelog_ns = Collection("changelog", add, preview, check)

ns = Collection(release_ns, changelog_ns, hotfix, rollback)
