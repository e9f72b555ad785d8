"""The semver guard where the release meets it: preflight, the GitHub release notes, status.

The evidence (:func:`.evidence.gather`) is taken between the previous final release and the
commit being released: the newest stable tag below the version (one that was rolled back left
out, as ``release.status`` does), so a pre-release promoted to final is judged against the
release before it, and a hotfix against the release it fixes. The first release has nothing
to compare with, so nothing is refused. ``--allow-semver-break`` waives the refusal: the run's
notes and the GitHub release's body then say what was waived.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..tools.git import Git
from ..version import Version, stable_cores
from .evidence import Evidence, gather
from .rule import Verdict, judge

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "WAIVER",
    "baseline",
    "check",
    "preflight_findings",
    "session_check",
    "suggestion",
    "waiver_note",
]

#: The flag that waives the guard, as the user types it.
WAIVER = "--allow-semver-break"


def baseline(tags: Iterable[str], prefix: str, below: Version | None = None) -> Version | None:
    """The previous final release: the newest stable tag (below *below*'s core, when given)
    that no ``rollback-`` tag marks rolled back."""
    tags = list(tags)
    rolled = (t.removeprefix("rollback-") for t in tags if t.startswith("rollback-"))
    gone = set(stable_cores(rolled, prefix))
    limit = None if below is None else (below.major, below.minor, below.patch)
    newest = max(
        (c for c in stable_cores(tags, prefix) if c not in gone and (limit is None or c < limit)),
        default=None,
    )
    return None if newest is None else Version(*newest)


def check(
    repo: Path, prefix: str, commit: str, version: Version | None, *, hotfix: bool = False
) -> tuple[Version, Evidence, Verdict] | None:
    """The evidence from the previous final release to *commit* and its verdict on *version*;
    None for a first release."""
    git = Git(repo)
    previous = baseline(git.tags(), prefix, version)
    if previous is None:
        return None
    evidence = gather(repo, previous.tag(prefix), commit)
    return previous, evidence, judge(evidence, previous, version, hotfix=hotfix)


def _checked(ctx: ReleaseContext) -> tuple[Version, Evidence, Verdict] | None:
    commit = ctx.git.rev(ctx.base_branch) or "HEAD"
    return check(ctx.repo, ctx.config.tag_prefix, commit, ctx.version, hotfix=ctx.is_hotfix)


def preflight_findings(ctx: ReleaseContext) -> tuple[list[str], list[str]]:
    """The preflight's problems (one line per break, or per feature a patch cannot carry, and
    per source that could not be read) and notes; waived: all of them notes."""
    checked = _checked(ctx)
    if checked is None:  # a first release: nothing to compare with
        return [], []
    previous, evidence, verdict = checked
    problems = [*verdict.refusals]
    problems += [
        f"semver: {line}: the evidence is missing; fix it, or pass {WAIVER}"
        for line in evidence.unread
    ]
    seen = f"{len(evidence.breaks)} break(s), {len(evidence.features)} feature(s)"
    notes = [
        f"semver: {seen} since {previous.tag(ctx.config.tag_prefix)}; "
        f"{ctx.version} allowed (smallest: {verdict.allowed})"
    ]
    if problems and getattr(ctx.options, "allow_semver_break", False):
        return [], [f"semver guard waived ({WAIVER}): {line}" for line in problems]
    return problems, [] if problems else notes


def waiver_note(ctx: ReleaseContext) -> str:
    """What the GitHub release's body says under the CHANGELOG section when the guard was
    waived: the flag and what it let through; empty when not waived."""
    if not getattr(ctx.options, "allow_semver_break", False):
        return ""
    try:
        commit = ctx.git.rev(f"{ctx.tag}^") or ctx.git.rev(ctx.base_branch) or "HEAD"
        checked = check(ctx.repo, ctx.config.tag_prefix, commit, ctx.version, hotfix=ctx.is_hotfix)
    except Exception:  # the note says less, the release goes on
        checked = None
    note = f"Released with `{WAIVER}`: the semver guard's refusal was waived"
    if checked is not None and checked[2].refusals:
        previous, _, verdict = checked
        note += (
            f"; the changes since {previous.tag(ctx.config.tag_prefix)} call for "
            f"{verdict.allowed} or higher, first: {verdict.why[0].line()}"
        )
    return note + "."


def suggestion(repo: Path, prefix: str, commit: str) -> dict[str, object] | None:
    """What ``release.status`` shows of the evidence: the bump it needs, the smallest version
    and why (the first breaks and features); None before the first release."""
    checked = check(repo, prefix, commit, None)
    if checked is None:
        return None
    previous, evidence, verdict = checked
    return {
        "since": previous.tag(prefix),
        "bump": verdict.level,
        "smallest": verdict.allowed.pep440,
        "why": [f.line() for f in verdict.why[:5]],
        **evidence.as_dict(),
    }


def session_check(repo: Path, version: str | None = None) -> list[str]:
    """``nox -s semver``: the guard on HEAD, for *version* (default: the release the version
    files lead to when they carry ``X.Y.Z.devN``; else none, and only what is needed is said).
    Returns the lines to print; raises :class:`PreflightError` with the refusals."""
    from ..config import load_config
    from ..errors import PreflightError
    from ..version import parse_current_version, parse_version

    config, git = load_config(repo), Git(repo)
    current = parse_current_version(config.current_version)
    target = parse_version(version) if version else (current.release if current.is_dev else None)
    hotfix = git.current_branch().startswith("hotfix/")
    checked = check(repo, config.tag_prefix, git.rev("HEAD") or "HEAD", target, hotfix=hotfix)
    if checked is None:
        return ["semver: no earlier release to compare with (a first release): nothing to check"]
    previous, evidence, verdict = checked
    problems = [
        *verdict.refusals,
        *(f"{line}: the evidence is missing" for line in evidence.unread),
    ]
    if problems:
        raise PreflightError(problems)
    seen = f"{len(evidence.breaks)} break(s), {len(evidence.features)} feature(s)"
    lines = [
        f"semver: {seen} since {previous.tag(config.tag_prefix)}: the next release must be "
        f"{verdict.allowed} or higher" + (f"; {target} is allowed" if target else "")
    ]
    return lines + [f"  {finding.line()}" for finding in verdict.why[:10]]
