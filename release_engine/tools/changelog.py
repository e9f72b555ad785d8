"""The changelog: fragments in changelog.d/, built into CHANGELOG.md by towncrier."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import read_pyproject
from ..errors import ConfigError, UsageError
from ..proc import Command, read

__all__ = [
    "Fragments",
    "add_fragment",
    "build_command",
    "check_command",
    "draft",
    "extract_section",
    "fragment_problems",
    "scan_fragments",
]

_NOT_FRAGMENTS = {
    "README.md",
    "README.rst",
    ".gitignore",
    ".gitkeep",
    "template.md",
    "template.jinja",
}
_FRAGMENT = re.compile(r"^(?P<issue>\+[\w.-]+?|\d+)\.(?P<type>[a-z]+)(?:\.\d+)?\.md$")


@dataclass(frozen=True)
class Fragments:
    directory: Path
    types: tuple[str, ...]
    valid: tuple[Path, ...]
    unknown: tuple[Path, ...]  # a type towncrier would silently drop, or a malformed name


def _towncrier_settings(repo: Path) -> tuple[Path, tuple[str, ...]]:
    table = read_pyproject(repo).get("tool", {}).get("towncrier")
    if not isinstance(table, dict):
        raise ConfigError("pyproject.toml has no [tool.towncrier] table: add it (see README.md)")
    types = tuple(str(t["directory"]) for t in table.get("type", []) if "directory" in t)
    if not types:
        raise ConfigError("[tool.towncrier] defines no [[tool.towncrier.type]]: add the types")
    return repo / str(table.get("directory", "changelog.d")), types


def scan_fragments(repo: Path) -> Fragments:
    """Every fragment waiting in changelog.d/, split into valid ones and ones towncrier drops."""
    directory, types = _towncrier_settings(repo)
    valid: list[Path] = []
    unknown: list[Path] = []
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.name in _NOT_FRAGMENTS or path.is_dir():
                continue
            match = _FRAGMENT.match(path.name)
            (valid if match and match["type"] in types else unknown).append(path)
    return Fragments(directory, types, tuple(valid), tuple(unknown))


def _towncrier(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "towncrier", *args, "--dir", str(repo)]


def draft(repo: Path, version: str, date: str) -> str:
    """The section towncrier would write for *version*, changing nothing."""
    argv = _towncrier(repo, "build", "--draft", "--version", version, "--date", date)
    return read(argv, cwd=repo, check=True).stdout


def build_command(repo: Path, version: str, date: str) -> Command:
    """Write *version*'s section into CHANGELOG.md and ``git rm`` the fragments."""
    return Command.of(
        *_towncrier(repo, "build", "--yes", "--version", version, "--date", date), cwd=repo
    )


def check_command(repo: Path, base: str) -> list[str]:
    """``towncrier check`` against *base*: fails when the branch adds no fragment."""
    return [sys.executable, "-m", "towncrier", "check", "--compare-with", base, "--dir", str(repo)]


def extract_section(changelog: str, version: str) -> str | None:
    """The body of *version*'s section (under its ``## [X.Y.Z]`` title), or ``None``."""
    lines = changelog.splitlines()
    start = None
    for i, line in enumerate(lines):
        if start is None and re.match(rf"^## \[{re.escape(version)}\](\s|$)", line):
            start = i + 1
        elif start is not None and line.startswith("## "):
            return "\n".join(lines[start:i]).strip() + "\n"
    if start is None:
        return None
    return "\n".join(lines[start:]).strip() + "\n"


def add_fragment(
    repo: Path, kind: str, text: str, issue: str | None = None, slug: str | None = None
) -> Path:
    """Write a new fragment ``<issue>.<kind>.md`` (or ``+<slug>.<kind>.md``) and return its path."""
    directory, types = _towncrier_settings(repo)
    if kind not in types:
        raise UsageError(f"unknown fragment type {kind!r}: use one of {', '.join(types)}")
    if not text.strip():
        raise UsageError(
            "the fragment text is empty: say what changed for users, in the past tense"
        )
    if issue is not None and not issue.isdigit():
        raise UsageError(f"issue {issue!r} is not a number: pass --issue 123, or leave it out")
    if issue is None:
        base = re.sub(r"[^a-z0-9]+", "-", (slug or text).lower()).strip("-")[:40].strip("-")
        stem = f"+{base or 'change'}"
    else:
        stem = issue
    path = directory / f"{stem}.{kind}.md"
    n = 1
    while path.exists():
        path = directory / f"{stem}.{kind}.{n}.md"
        n += 1
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def fragment_problems(repo: Path) -> list[str]:
    """One line per file in changelog.d/ that towncrier would drop, naming the valid types."""
    scanned = scan_fragments(repo)
    valid = ", ".join(scanned.types)
    problems = []
    for path in scanned.unknown:
        shown = f"{scanned.directory.name}/{path.name}"
        parts = path.name.split(".")
        kind = parts[-3] if len(parts) >= 4 and parts[-2].isdigit() else parts[-2]
        if path.suffix == ".md" and len(parts) >= 3 and kind not in scanned.types:
            problems.append(f"{shown}: unknown fragment type {kind!r}; valid types: {valid}")
        else:
            problems.append(
                f"{shown}: not a fragment name: use <issue>.<type>.md or "
                f"+<slug>.<type>.md with a type among: {valid}"
            )
    return problems
