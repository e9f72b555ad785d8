"""Keep a Changelog 1.1.0 conventions towncrier leaves to us: link references and yanked releases.

Pure functions over the text of CHANGELOG.md. Every released section ``## [X.Y.Z] - date``
gets a link reference at the bottom (a compare link against the version before it, the first
release its tag page) and ``[Unreleased]`` compares the newest tag with ``HEAD``. A rolled-back
release stays in the changelog, marked ``[YANKED]``.
"""

from __future__ import annotations

import itertools
import re

from ..errors import ReleaseError, UsageError
from ..version import Version, parse_version

__all__ = [
    "compare_links",
    "insert_section",
    "is_yanked",
    "mark_yanked",
    "released_versions",
    "repository_url",
    "update_links",
]

_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?P<rest>.*)$")
_LINK = re.compile(r"^\[(?P<label>[^\]]+)\]:\s*\S+\s*$")
_YANKED = "[YANKED]"


def repository_url(github_repository: str, api_url: str = "https://api.github.com") -> str:
    """The web address of *github_repository*: github.com, or the Enterprise host of *api_url*."""
    api = api_url.rstrip("/")
    host = api[: -len("/api/v3")] if api.endswith("/api/v3") else "https://github.com"
    return f"{host}/{github_repository.strip('/')}"


def _version(label: str) -> Version | None:
    try:
        return parse_version(label)
    except UsageError:
        return None


def released_versions(text: str) -> list[str]:
    """The versions that have a ``## [X.Y.Z]`` section, in the order the file lists them."""
    found = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match and _version(match["version"]) is not None:
            found.append(match["version"])
    return found


def compare_links(versions: list[str], url: str, tag_prefix: str) -> list[tuple[str, str]]:
    """``(label, address)`` for ``Unreleased`` and each version, newest first.

    Each version compares with the version just below it; the oldest links to its tag.
    """
    parsed = sorted({v for v in (_version(s) for s in versions) if v is not None}, reverse=True)
    if not parsed:
        return [("Unreleased", f"{url}/commits/HEAD")]
    links = [("Unreleased", f"{url}/compare/{parsed[0].tag(tag_prefix)}...HEAD")]
    for newer, older in itertools.pairwise(parsed):
        links.append(
            (newer.pep440, f"{url}/compare/{older.tag(tag_prefix)}...{newer.tag(tag_prefix)}")
        )
    links.append((parsed[-1].pep440, f"{url}/releases/tag/{parsed[-1].tag(tag_prefix)}"))
    return links


def _is_ours(label: str) -> bool:
    return label.lower() == "unreleased" or _version(label) is not None


def update_links(text: str, url: str, tag_prefix: str) -> str:
    """*text* with its version link references rewritten at the bottom; others are kept."""
    lines = [
        line
        for line in text.splitlines()
        if not ((match := _LINK.match(line)) and _is_ours(match["label"]))
    ]
    while lines and not lines[-1].strip():
        lines.pop()
    links = compare_links(released_versions(text), url, tag_prefix)
    references = [f"[{label}]: {address}" for label, address in links]
    if lines and not _LINK.match(lines[-1]):
        lines.append("")
    return "\n".join([*lines, *references]) + "\n"


def _heading_index(lines: list[str], version: str) -> int | None:
    for i, line in enumerate(lines):
        match = _HEADING.match(line)
        if match and match["version"] == version:
            return i
    return None


def is_yanked(text: str, version: str) -> bool:
    """Whether *version*'s section title carries the ``[YANKED]`` marker."""
    lines = text.splitlines()
    i = _heading_index(lines, version)
    return i is not None and lines[i].rstrip().endswith(_YANKED)


def _section_lines(text: str, version: str) -> list[str] | None:
    """*version*'s title and body in *text*, without the link references below the last one."""
    lines = text.splitlines()
    start = _heading_index(lines, version)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not lines[end].startswith("## "):
        end += 1
    section = lines[start:end]
    while section and (not section[-1].strip() or _LINK.match(section[-1])):
        section.pop()
    return section


def insert_section(text: str, version: str, released: str) -> str:
    """*text* with *version*'s section taken from *released*, placed in version order.

    Sections run newest first, so it goes above the first older one (or after the last section,
    before the link references). *text* that has the section already is returned unchanged.
    """
    lines = text.splitlines()
    if _heading_index(lines, version) is not None:
        return text
    section = _section_lines(released, version)
    if section is None:
        raise ReleaseError(f"the released changelog has no section [{version}]")
    target = parse_version(version)
    at = None
    for j, line in enumerate(lines):
        match = _HEADING.match(line)
        older = match and _version(match["version"])
        if older and older < target:
            at = j
            break
    if at is None:  # no older section: after the last section, before the link references
        at = len(lines)
        while at > 0 and (not lines[at - 1].strip() or _LINK.match(lines[at - 1])):
            at -= 1
        lines[at:at] = ["", *section]
    else:
        lines[at:at] = [*section, ""]
    return "\n".join(lines) + "\n"


def mark_yanked(text: str, version: str, released: str) -> str:
    """*text* with *version*'s title marked ``[YANKED]``.

    A section missing from *text* is put back from *released* (the changelog as the release's
    tag has it), in version order.
    """
    lines = insert_section(text, version, released).splitlines()
    i = _heading_index(lines, version)
    assert i is not None
    if not lines[i].rstrip().endswith(_YANKED):
        lines[i] = f"{lines[i].rstrip()} {_YANKED}"
    return "\n".join(lines) + "\n"
