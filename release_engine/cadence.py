"""Release after release: when the last one was, what waits, what comes next, what is ``latest``.

The pure rules (:func:`bump_for`, :func:`next_version`, :func:`newest_stable`) say which version
the waiting fragments call for; :func:`observe` reads everything for a context (tags, fragments,
and what ``latest`` points at on GitHub, the registry and the index), changing nothing. A remote
that cannot be read is recorded with the reason, never raised.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from .errors import ReleaseError, UsageError
from .proc import in_background
from .remotes.index.remote import credentials_login
from .tools import changelog
from .tools.git import Git
from .version import Version, parse_current_version, parse_version, versions_from_tags

if TYPE_CHECKING:
    from .context import ReleaseContext

__all__ = [
    "Cadence",
    "Latest",
    "bump_for",
    "count_fragments",
    "described_release",
    "newest_served",
    "newest_stable",
    "next_version",
    "observe",
    "suggested_release",
]

Bump = Literal["major", "minor", "patch"]
_TYPE = re.compile(r"^(?:\+[\w.-]+?|\d+)\.(?P<type>[a-z]+)(?:\.\d+)?\.md$")
VERSION_LABEL = "org.opencontainers.image.version"


def bump_for(counts: Mapping[str, int], current: Version) -> Bump | None:
    """The bump the waiting fragments call for; None when nothing waits.

    Removed is breaking (major; minor below 1.0.0), Added or Deprecated a feature (minor),
    anything else a fix (patch).
    """
    waiting = {kind for kind, n in counts.items() if n > 0}
    if not waiting:
        return None
    if "removed" in waiting:
        return "major" if current.major >= 1 else "minor"
    if waiting & {"added", "deprecated"}:
        return "minor"
    return "patch"


def next_version(current: Version, bump: Bump) -> Version:
    """*current* bumped by *bump*; a pre-release becomes its own final release when that is
    already such a bump (1.1.0rc1 + minor is 1.1.0), else the bump of its core."""
    if current.is_prerelease:
        core = Version(current.major, current.minor, current.patch)
        covered = {
            "patch": True,
            "minor": current.patch == 0,
            "major": current.minor == current.patch == 0,
        }
        if covered[bump]:
            return core
    if bump == "major":
        return Version(current.major + 1, 0, 0)
    if bump == "minor":
        return Version(current.major, current.minor + 1, 0)
    return Version(current.major, current.minor, current.patch + 1)


def newest_stable(versions: Iterable[Version]) -> Version | None:
    """The newest version that is not a pre-release."""
    return max((v for v in versions if not v.is_prerelease), default=None)


def newest_served(filenames: Iterable[str], package: str) -> Version | None:
    """The newest stable release of *package* among distribution *filenames*."""
    want = canonicalize_name(package)
    found = []
    for name in filenames:
        try:
            if name.endswith(".whl"):
                project, version, *_ = parse_wheel_filename(name)
            else:
                project, version = parse_sdist_filename(name)
            if project == want:
                found.append(parse_version(str(version)))
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, UsageError):
            continue
    return newest_stable(found)


def count_fragments(names: Iterable[str]) -> dict[str, int]:
    """How many fragments of each type the file *names* hold (``8.added.md`` is added)."""
    kinds = Counter(m["type"] for name in names if (m := _TYPE.match(name)))
    return dict(sorted(kinds.items()))


@dataclass(frozen=True)
class Latest:
    """What ``latest`` points at on one remote: *value* (None: nothing yet), or *error*."""

    value: str | None = None
    digest: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"unknown ({self.error})"
        if self.value is None and self.digest is None:
            return "none yet"
        shown = self.value or "no version label"
        return f"{shown} ({self.digest})" if self.digest else shown

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "digest": self.digest, "error": self.error}


@dataclass(frozen=True)
class Cadence:
    """The rhythm of releases as the world shows it today."""

    last_release: Version | None
    last_date: dt.date | None
    today: dt.date
    fragments: dict[str, int]
    bump: Bump | None
    suggested: Version | None
    latest: dict[str, Latest] = field(default_factory=dict)
    rolled_back: list[Version] = field(default_factory=list)
    #: The semver guard's evidence since the last release (:func:`.semver.suggestion`).
    semver: dict[str, object] | None = None

    @property
    def days_since(self) -> int | None:
        return None if self.last_date is None else (self.today - self.last_date).days

    def as_dict(self) -> dict[str, object]:
        return {
            "last_release": None if self.last_release is None else self.last_release.pep440,
            "last_release_date": None if self.last_date is None else self.last_date.isoformat(),
            "days_since": self.days_since,
            "fragments": dict(self.fragments),
            "suggested_bump": self.bump,
            "suggested_version": None if self.suggested is None else self.suggested.pep440,
            "latest": {name: seen.as_dict() for name, seen in self.latest.items()},
            "rolled_back": [v.pep440 for v in self.rolled_back],
            "semver": self.semver,
        }


def _seen(read: Callable[[], Latest]) -> Latest:
    try:
        return read()
    except (ReleaseError, OSError) as exc:
        return Latest(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _github(ctx: ReleaseContext) -> Latest:
    if not ctx.config.github_repository:
        return Latest(error="no GitHub repository configured")
    if ctx.github is None:
        return Latest(error="GITHUB_TOKEN is not set")
    return Latest(ctx.github.latest_release_tag())


def _registry(ctx: ReleaseContext) -> Latest:
    if not ctx.config.image:
        return Latest(error="no image configured in [tool.release]")
    digest = ctx.registry.digest("latest")
    if digest is None:
        return Latest()
    return Latest(ctx.registry.labels("latest").get(VERSION_LABEL), digest)


def _index(ctx: ReleaseContext) -> Latest:
    if not ctx.config.index_simple_url:
        return Latest(error="no index_simple_url configured in [tool.release]")
    from .remotes import index

    auth = credentials_login(ctx.credentials)
    files = index.served(ctx.config.index_simple_url, ctx.config.package, auth=auth)
    newest = newest_served((f.filename for f in files if not f.yanked), ctx.config.package)
    return Latest(None if newest is None else newest.pep440)


def _suggested(
    counts: Mapping[str, int],
    current: Version,
    tagged: Iterable[Version],
    semver: Mapping[str, object] | None = None,
) -> tuple[Bump | None, Version]:
    """The bump the fragments ask for and the version it gives: above both the version files
    and every stable tag (a rolled-back one too: its tag stays), the next patch without one.
    With the semver guard's evidence (*semver*), the larger of its bump and the fragments'."""
    last = newest_stable(tagged)
    base = current if last is None else max(current, last)
    bump = bump_for(counts, current)
    if semver is not None and (semver["breaks"] or semver["features"]):
        order: list[str] = ["patch", "minor", "major"]
        needed: Bump = semver["bump"]  # type: ignore[assignment]
        bump = needed if order.index(needed) > order.index(bump or "patch") else bump
    return bump, next_version(base, bump or "patch")


def _semver(repo: Path, prefix: str, commit: str | None) -> dict[str, object] | None:
    """The semver guard's suggestion for *commit*; a failure to gather it is shown, not raised."""
    from . import semver

    if commit is None:
        return None
    try:
        return semver.suggestion(repo, prefix, commit)
    except ReleaseError as exc:
        return {"error": exc.message.splitlines()[0], "breaks": [], "features": []}


def suggested_release(repo: Path, current: Version, prefix: str) -> tuple[Version, bool]:
    """The version the next release of *repo* gets, as ``release.status`` suggests it, and
    whether any fragment waits: without one, the next patch (what a rehearsal of a project
    with nothing to release rehearses)."""
    counts = count_fragments(p.name for p in changelog.scan_fragments(repo).valid)
    seen = _semver(repo, prefix, Git(repo).rev("HEAD"))
    bump, version = _suggested(counts, current, versions_from_tags(Git(repo).tags(), prefix), seen)
    return version, bump is not None


def described_release(repo: Path, current: Version, prefix: str) -> Version:
    """The release ``release.status`` describes without ``--version``: the current version
    once it is released (tagged), else the one the cadence suggests next, so the rows and the
    cadence speak of one version (before the first release: not 0.1.0 -> 0.1.0)."""
    if current.release in versions_from_tags(Git(repo).tags(), prefix):
        return current.release
    return suggested_release(repo, current, prefix)[0]


def observe(ctx: ReleaseContext, today: dt.date | None = None) -> Cadence:
    """Tags, fragments and every remote's ``latest`` for *ctx*; changes nothing."""
    current = parse_current_version(ctx.config.current_version)
    tags, prefix = ctx.git.tags(), ctx.config.tag_prefix
    gone = versions_from_tags(
        (t.removeprefix("rollback-") for t in tags if t.startswith("rollback-")), prefix
    )
    tagged = versions_from_tags(tags, prefix)
    last = newest_stable(v for v in tagged if v not in gone)
    last_date = None
    if last is not None:
        seconds = int(ctx.git.commit_timestamp(last.tag(ctx.config.tag_prefix)))
        last_date = dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date()
    counts = count_fragments(p.name for p in changelog.scan_fragments(ctx.repo).valid)
    with ctx.secrets.masking_logs():  # each remote asked at the same time
        evidence = in_background(_semver, ctx.repo, prefix, ctx.git.rev(ctx.base_branch))
        asking = {
            "github": in_background(_seen, lambda: _github(ctx)),
            "registry": in_background(_seen, lambda: _registry(ctx)),
            "index": in_background(_seen, lambda: _index(ctx)),
        }
        latest = {name: answer.result() for name, answer in asking.items()}
        semver = evidence.result()
    bump, following = _suggested(counts, current, tagged, semver)
    suggested = None if bump is None else following
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return Cadence(last, last_date, today, counts, bump, suggested, latest, gone, semver)
