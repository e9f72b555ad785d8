"""Version rules: what a valid release version is, how it maps to PEP 440, which one is newest.

The grammar is deliberately shorter than PEP 440 (no epochs, post or dev releases, local
versions): a release is MAJOR.MINOR.PATCH with an optional a/b/rc pre-release. The version
files may also carry ``MAJOR.MINOR.PATCH.devN`` between releases (``next_cycle = "dev"``): that
is a current version, never a release. Ordering is ``packaging.version``'s
(1.3.1.dev0 < 1.3.1rc1 < 1.3.1).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial, total_ordering

from packaging.version import Version as PackagingVersion

from .errors import ConfigError, UsageError

__all__ = [
    "MAX_NUMBER",
    "Version",
    "is_newest_stable",
    "is_version_tag",
    "newest_of_line",
    "next_development",
    "parse_current_version",
    "parse_version",
    "stable_cores",
    "versions_from_tags",
]

# SemVer core with an optional pre-release, accepted in SemVer (1.3.0-rc.1) or PEP 440 (1.3.0rc1)
# spelling. Only the pre-release kinds PEP 440 knows are accepted, so the mapping is exact.
_VERSION = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-?(?P<kind>a|alpha|b|beta|rc)\.?(?P<number>0|[1-9]\d*))?$",
    re.ASCII,  # \d is 0-9 only: "1.2.1\u0663" (an Arabic-Indic three) is not 1.2.13
)
_KINDS = {"a": "a", "alpha": "a", "b": "b", "beta": "b", "rc": "rc"}
_STAGES = {"a": 0, "b": 1, "rc": 2}  # PEP 440's pre-release order
#: The largest number a version part may be: 2**53 - 1, node-semver's limit (JavaScript's
#: largest exact integer), so every tool that reads the tag, the image tag or the package
#: version gets the same number back. Python's ``int`` takes anything, and 400 digits once
#: made a tag; bigger numbers are refused as bad input.
MAX_NUMBER = 2**53 - 1
#: MAJOR.MINOR.PATCH with no part above 15 digits (below MAX_NUMBER): what parse_version
#: accepts of most tags, matched alone when a thousand tags are read.
_PLAIN = re.compile(r"(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})", re.ASCII)
# What the version files may carry: a release in PEP 440 spelling, or a development version.
_CURRENT = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:(?P<kind>a|b|rc)(?P<number>0|[1-9]\d*)|\.dev(?P<dev>0|[1-9]\d*))?$",
    re.ASCII,
)


@total_ordering
@dataclass(frozen=True)
class Version:
    """A release version: MAJOR.MINOR.PATCH with an optional a/b/rc pre-release.

    *dev* is set only on a current version read from the version files (``1.3.1.dev0``):
    :func:`parse_version` never makes one, so nothing is ever released or tagged with it.
    """

    major: int
    minor: int
    patch: int
    pre: tuple[str, int] | None = None
    dev: int | None = None

    @property
    def pep440(self) -> str:
        """The spelling used in version files, file names and tags: ``1.3.0rc1``, ``1.3.1.dev0``."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre is not None:
            core += f"{self.pre[0]}{self.pre[1]}"
        return core if self.dev is None else f"{core}.dev{self.dev}"

    @property
    def is_prerelease(self) -> bool:
        """A/b/rc, or a development version: neither is a stable release."""
        return self.pre is not None or self.dev is not None

    @property
    def is_dev(self) -> bool:
        return self.dev is not None

    @property
    def release(self) -> Version:
        """The release this version leads to: itself, or ``1.3.1`` for ``1.3.1.dev0``."""
        return Version(self.major, self.minor, self.patch, self.pre)

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

    @cached_property
    def _order(self) -> tuple[int, int, int, int, int]:
        """PEP 440's order for this grammar, as a tuple: ``1.3.1.dev0 < 1.3.1a1 < 1.3.1b1 <
        1.3.1rc1 < 1.3.1``. Sorting a thousand tags compares versions ten thousand times:
        two ``packaging`` objects a comparison would be most of a status on a long history
        (a test holds this order to ``packaging``'s). Worked out once per version."""
        if self.pre is not None:
            stage, number = _STAGES[self.pre[0]], self.pre[1]
        elif self.dev is not None:
            stage, number = -1, self.dev
        else:
            stage, number = len(_STAGES), 0
        return (self.major, self.minor, self.patch, stage, number)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._order < other._order

    def __str__(self) -> str:
        return self.pep440


def parse_version(text: str) -> Version:
    """Parse *text* or raise :class:`UsageError` with the one line the user needs."""
    if text != text.strip():
        raise UsageError(
            f"{text!r} has whitespace around it: pass MAJOR.MINOR.PATCH alone, "
            "such as --version 1.2.3"
        )
    match = _VERSION.fullmatch(text)
    if match is None and text[:1] in "vV" and _VERSION.fullmatch(text[1:]):
        raise UsageError(
            f"{text!r} is a tag, not a version: drop the v and pass MAJOR.MINOR.PATCH, "
            f"as in --version {text[1:]}"
        )
    if match is None:
        raise UsageError(
            f"{text!r} is not a release version: use MAJOR.MINOR.PATCH such as 1.2.3, "
            "or a pre-release such as 1.3.0rc1"
        )
    numbers = [match[n] for n in ("major", "minor", "patch", "number") if match[n] is not None]
    if any(len(n) > len(str(MAX_NUMBER)) or int(n) > MAX_NUMBER for n in numbers):
        raise UsageError(
            f"{text[:40]!r}{'…' if len(text) > 40 else ''} has a number above {MAX_NUMBER}, "
            "the largest a version tool can be trusted with: use MAJOR.MINOR.PATCH such as 1.2.3"
        )
    pre = None
    if match["kind"] is not None:
        pre = (_KINDS[match["kind"]], int(match["number"]))
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), pre)


def parse_current_version(text: str) -> Version:
    """The version the version files carry: a release, or ``MAJOR.MINOR.PATCH.devN``.

    Raises :class:`ConfigError`: the text comes from ``[tool.bumpversion] current_version``.
    """
    match = _CURRENT.fullmatch(text.strip(" "))
    if match is None:
        raise ConfigError(
            f"[tool.bumpversion] current_version = {text!r} is not a version: use "
            "MAJOR.MINOR.PATCH such as 1.2.3, a pre-release such as 1.3.0rc1, or a development "
            "version such as 1.2.4.dev0"
        )
    pre = None if match["kind"] is None else (match["kind"], int(match["number"]))
    dev = None if match["dev"] is None else int(match["dev"])
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), pre, dev)


def next_development(version: Version) -> Version:
    """The version main carries after releasing *version*: the next patch's ``.dev0``."""
    return Version(version.major, version.minor, version.patch + 1, dev=0)


def versions_from_tags(tags: Iterable[str], prefix: str = "v") -> list[Version]:
    """The versions among *tags* (others, such as ``rollback-…``, are ignored), sorted.
    Worked out once per list of tags: a command asks it of the same tags in several places,
    and a history of a thousand tags costs some milliseconds each time."""
    return list(_versions(tuple(tags), prefix))


@functools.lru_cache(maxsize=32)
def _versions(tags: tuple[str, ...], prefix: str) -> tuple[Version, ...]:
    found = [version for version in map(partial(_of_tag, prefix=prefix), tags) if version]
    return tuple(sorted(set(found), key=_order_of))


def stable_cores(tags: Iterable[str], prefix: str = "v") -> Iterator[tuple[int, int, int]]:
    """(MAJOR, MINOR, PATCH) of each tag among *tags* that names a stable release: the stable
    versions :func:`versions_from_tags` reads, as plain tuples (unsorted, repeats kept). A
    question about the stable releases alone (the newest below a version) asks this: making a
    :class:`Version` of each of a thousand tags took 5 ms, ten times this."""
    start, fullmatch = len(prefix), _PLAIN.fullmatch
    for tag in tags:
        if not tag.startswith(prefix):
            continue
        plain = fullmatch(tag, start)
        if plain is not None:
            yield int(plain[1]), int(plain[2]), int(plain[3])
        elif (version := _of_tag(tag, prefix)) is not None and not version.is_prerelease:
            yield version.major, version.minor, version.patch  # a part of 16 digits


def is_version_tag(tag: str, prefix: str = "v") -> bool:
    """Whether *tag* names a release version (the tags :func:`versions_from_tags` reads)."""
    return _of_tag(tag, prefix) is not None


@functools.lru_cache(maxsize=8192)  # a command reads the same thousand tags in four places
def _of_tag(tag: str, prefix: str) -> Version | None:
    if not tag.startswith(prefix):
        return None
    plain = _PLAIN.fullmatch(tag, len(prefix))  # most tags: parse_version's answer, sooner
    if plain is not None:
        return Version(int(plain[1]), int(plain[2]), int(plain[3]))
    try:
        return parse_version(tag[len(prefix) :])
    except UsageError:
        return None


def _order_of(version: Version) -> tuple[int, int, int, int, int]:
    return version._order


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
