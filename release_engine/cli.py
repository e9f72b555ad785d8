"""What each invoke task does, as one call: print through output, raise errors.

Every function takes the run's :class:`~release_engine.redact.Secrets`, made at the edge
(``tasks.py``), which redacts this module's output and the edge's error line alike. The version
is parsed here, once, and passed on as a :class:`~release_engine.version.Version`.

This module is the door ``tasks.py`` and the tests go through: ``inv release`` (and its
rehearsal), ``release.status`` and the changelog tasks live in :mod:`release_engine.commands`
and are re-exported here; the hotfix, the rollback and the verification are below.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .commands.changelog import add_fragment, check_fragments, preview_changelog
from .commands.common import require, require_repository, say, task_json
from .commands.invocation import release_invocation, rollback_invocation
from .commands.release import release_command
from .commands.status import status_command
from .config import parse_overrides
from .context import Options
from .redact import Secrets
from .version import parse_version

# The engine, its adapters (requests, the GitHub client …) and the output (rich) are imported
# in the commands that use them, after what can start early has started (commands/release.py).

__all__ = [
    "add_fragment",
    "check_fragments",
    "hotfix_command",
    "preview_changelog",
    "release_command",
    "release_invocation",
    "require",
    "require_repository",
    "rollback_command",
    "rollback_invocation",
    "status_command",
    "verify_command",
]


def hotfix_command(
    repo: Path, from_tag: str | None, *, as_json: bool = False, secrets: Secrets | None = None
) -> None:
    """``inv hotfix``: branch ``hotfix/vX.Y.Z+1`` from the release tag and say what comes next."""
    from .steps.hotfix import start_hotfix

    known: dict[str, object] = {"from_tag": from_tag, "version": None, "branch": None, "next": None}
    with task_json("hotfix", as_json, secrets or Secrets(), known):
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
        say(
            as_json,
            f"on {hotfix.branch} (from {hotfix.base_tag}). Next: commit the fix with a fragment "
            f"(inv changelog.add --type fixed ...), then: {next_command}",
            secrets,
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
    with task_json("rollback", as_json, secrets, known):
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
    from .output import print_line
    from .verify import verify_release

    text = require(version, "--version", "inv release.verify --version 1.2.3")
    require_repository(repo)
    ctx = open_release(
        repo, parse_version(text), overrides=parse_overrides(overrides), secrets=secrets
    )
    found = verify_release(ctx)
    for line in found.checked:
        print_line(f"ok: {line}", secrets=secrets)
    for line in found.problems:
        print_line(f"mismatch: {line}", err=True, secrets=secrets)
    if found.problems:
        raise VerificationError(
            f"{len(found.problems)} mismatch(es) in what is published for {ctx.tag} (above)"
        )
    print_line(f"{ctx.tag}: every published artifact verified", secrets=secrets)
