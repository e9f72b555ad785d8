"""Version rules: what a valid release version is, how it maps to PEP 440, which one is newest.

The grammar is deliberately shorter than PEP 440 (no epochs, post or dev releases, local
versions): a release is MAJOR.MINOR.PATCH with an optional a/b/rc pre-release. Ordering is
``packaging.version``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

from packaging.version import Version as PackagingVersion

from .errors import UsageError

__all__ = ["Version", "is_newest_stable", "newest_of_line", "parse_version", "versions_from_tags"]

# SemVer core with an optional pre-release, accepted in SemVer (1.3.0-rc.1) or PEP 440 (1.3.0rc1)
# spelling. Only the pre-release kinds PEP 440 knows are accepted, so the mapping is exact.
_VERSION = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-?(?P<kind>a|alpha|b|beta|rc)\.?(?P<number>0|[1-9]\d*))?$"
)
_KINDS = {"a": "a", "alpha": "a", "b": "b", "beta": "b", "rc": "rc"}


@total_ordering
@dataclass(frozen=True)
class Version:
    """A release version: MAJOR.MINOR.PATCH with an optional a/b/rc pre-release."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, int] | None = None

    @property
    def pep440(self) -> str:
        """The spelling used in version files, file names and tags: ``1.3.0rc1``."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core if self.pre is None else f"{core}{self.pre[0]}{self.pre[1]}"

    @property
    def is_prerelease(self) -> bool:
        return self.pre is not None

    @property
    def line(self) -> tuple[int, int]:
        """The release line (MAJOR, MINOR) that patch and hotfix releases extend."""
        return (self.major, self.minor)

    def tag(self, prefix: str = "v") -> str:
        return f"{prefix}{self.pep440}"

    @property
    def pep440_version(self) -> PackagingVersion:
        """The same version as ``packaging`` orders it (PEP 440: 1.3.0rc1 < 1.3.0)."""
        return PackagingVersion(self.pep440)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.pep440_version < other.pep440_version

    def __str__(self) -> str:
        return self.pep440


def parse_version(text: str) -> Version:
    """Parse *text* or raise :class:`UsageError` with the one line the user needs."""
    match = _VERSION.fullmatch(text.strip(" "))
    if match is None:
        raise UsageError(
            f"{text!r} is not a release version: use MAJOR.MINOR.PATCH such as 1.2.3, "
            "or a pre-release such as 1.3.0rc1"
        )
    pre = None
    if match["kind"] is not None:
        pre = (_KINDS[match["kind"]], int(match["number"]))
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), pre)


def versions_from_tags(tags: Iterable[str], prefix: str = "v") -> list[Version]:
    """The versions among *tags* (others, such as ``rollback-…``, are ignored), sorted."""
    found = []
    for tag in tags:
        if not tag.startswith(prefix):
            continue
        try:
            found.append(parse_version(tag[len(prefix) :]))
        except UsageError:
            continue
    return sorted(set(found))


def newest_of_line(version: Version, existing: Iterable[Version]) -> Version | None:
    """The newest existing version on *version*'s MAJOR.MINOR line, if any."""
    same_line = [v for v in existing if v.line == version.line]
    return max(same_line, default=None)


def is_newest_stable(version: Version, existing: Iterable[Version]) -> bool:
    """Whether *version* may carry ``latest``: stable, and no stable release is newer.

    A hotfix of an old line (1.2.4 after 1.3.0) is not newest, so it never moves ``latest``.
    """
    if version.is_prerelease:
        return False
    return all(v <= version for v in existing if not v.is_prerelease)
