"""The changelog: fragments in changelog.d/, built into CHANGELOG.md by towncrier."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import translate
from pathlib import Path

from ..config import read_pyproject
from ..errors import ConfigError, UsageError
from ..proc import Command, memoized, read
from . import usercache
from .git import Git

__all__ = [
    "BREAKING",
    "Fragments",
    "add_fragment",
    "added_fragments",
    "build_command",
    "check_command",
    "draft",
    "extract_section",
    "fragment_problems",
    "scan_fragments",
    "skip_trailers",
    "wording_problem",
]

_NOT_FRAGMENTS = ("README.md", ".gitignore", ".gitkeep", "template.md", "template.jinja")
_PLACEHOLDERS = {"todo", "tbd", "fixme", "wip", "xxx", "...", "…"}
_IRREGULAR_PAST_FORMS = """
    made built wrote ran set put cut kept let brought bought began broke chose did drew fed found
    fought gave got grew had held hid hit led left lent lost meant met paid quit read rebuilt redid
    remade reran reset rewrote rose said sent shed shot shut slid sped spent split spread stood
    stuck swept took taught told thought threw undid understood upset went withdrew won overrode
"""
_IRREGULAR_PAST = frozenset(_IRREGULAR_PAST_FORMS.split())
_EXAMPLE = 'say what changed for users, in the past tense, e.g. "Fixed …"'
_LINK_REFERENCE = re.compile(r"^\[[^\]]+\]:\s*\S+\s*$")
#: Leading a ``changed`` fragment, it marks the change breaking (the semver guard reads it).
BREAKING = "BREAKING:"
_FRAGMENT = re.compile(r"^(?P<issue>\+[\w.-]+?|\d+)\.(?P<type>[a-z]+)(?:\.\d+)?\.md$")


@dataclass(frozen=True)
class Fragments:
    directory: Path
    types: tuple[str, ...]
    valid: tuple[Path, ...]
    unknown: tuple[Path, ...]  # a type towncrier would silently drop, or a malformed name


def _towncrier_settings(repo: Path) -> tuple[Path, tuple[str, ...], tuple[str, ...]]:
    table = read_pyproject(repo).get("tool", {}).get("towncrier")
    if not isinstance(table, dict):
        raise ConfigError("pyproject.toml has no [tool.towncrier] table: add it (see README.md)")
    types = tuple(str(t["directory"]) for t in table.get("type", []) if "directory" in t)
    if not types:
        raise ConfigError("[tool.towncrier] defines no [[tool.towncrier.type]]: add the types")
    ignore = tuple(str(name) for name in table.get("ignore", _NOT_FRAGMENTS))
    return repo / str(table.get("directory", "changelog.d")), types, ignore


def scan_fragments(repo: Path) -> Fragments:
    """Every fragment waiting in changelog.d/, split into valid ones and ones towncrier drops.
    Listed once while only observing (:func:`~release_engine.proc.memoized`: a preflight asks
    three times); a write lists them again."""
    return memoized(("fragments", str(repo)), lambda: _scan(repo))


def _scan(repo: Path) -> Fragments:
    directory, types, ignore = _towncrier_settings(repo)
    valid: list[Path] = []
    unknown: list[Path] = []
    try:
        entries = sorted(
            (e.name for e in os.scandir(directory) if not e.is_dir()),  # no stat per file
        )
    except (FileNotFoundError, NotADirectoryError):
        entries = []
    ignored = re.compile("|".join(map(translate, ignore)) or "(?!)").match  # fnmatch's, at once
    for name in entries:
        if ignored(name):
            continue
        match = _FRAGMENT.match(name)
        (valid if match and match["type"] in types else unknown).append(directory / name)
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


def added_fragments(repo: Path, base: str) -> list[str]:
    """The fragments this branch adds since it left *base* (committed or not), as paths in the
    repository: what ``inv changelog.check --json`` names. Empty when *base* is unknown."""
    fragments = scan_fragments(repo)
    since = read(["git", "merge-base", base, "HEAD"], cwd=repo)
    if since.returncode != 0:
        return []
    folder = fragments.directory.relative_to(repo).as_posix()
    diff = ["git", "diff", "--name-only", "--diff-filter=A", since.stdout.strip(), "--", folder]
    added = set(read(diff, cwd=repo).stdout.split())
    return sorted(
        p.relative_to(repo).as_posix()
        for p in fragments.valid
        if p.relative_to(repo).as_posix() in added
    )


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
    body = lines[start:]
    while body and (not body[-1].strip() or _LINK_REFERENCE.match(body[-1])):
        body.pop()  # the link references at the bottom belong to no section
    return "\n".join(body).strip() + "\n"


def add_fragment(
    repo: Path,
    kind: str,
    text: str,
    issue: str | None = None,
    slug: str | None = None,
    *,
    breaking: bool = False,
) -> Path:
    """Write a new fragment ``<issue>.<kind>.md`` (or ``+<slug>.<kind>.md``) and return its path.

    *breaking*: a ``changed`` fragment whose text starts with ``BREAKING:``, the mark the
    semver guard reads as a break (a ``removed`` fragment is one already)."""
    directory, types, _ = _towncrier_settings(repo)
    if kind not in types:
        raise UsageError(f"unknown fragment type {kind!r}: use one of {', '.join(types)}")
    if breaking and kind != "changed":
        raise UsageError(
            f"--breaking marks a changed fragment, not a {kind} one: use --type changed "
            "(a removed fragment is breaking already)"
        )
    if breaking and not text.lstrip().upper().startswith(BREAKING):
        text = f"{BREAKING} {text.strip()}"
    problem = wording_problem(text)
    if problem is not None:
        raise UsageError(problem)
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


def wording_problem(text: str) -> str | None:
    """The one line saying what is wrong with a fragment's *text*, or ``None`` when it reads well.

    Refused: empty text, placeholders, fewer than three words, and a first word that does not
    look past tense (ending in "ed", or an irregular past form such as "made" or "built").
    """
    if text.lstrip().upper().startswith(BREAKING):  # the mark, then the sentence
        text = text.lstrip()[len(BREAKING) :]
    words = text.split()
    if not words:
        return f"the text is empty: {_EXAMPLE}"
    shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
    bare = [w.strip(".,;:!?()\"'`*_").lower() for w in words]
    prose = re.sub(r"`[^`]*`", "", text).split()  # `TODO` in a code span is named, not meant
    placeholder = any(w.strip(".,;:!?()\"'*_").lower() in _PLACEHOLDERS for w in prose)
    if placeholder or text.rstrip().endswith(("...", "…")):
        return f'"{shown}" is a placeholder: {_EXAMPLE}'
    if len(words) < 3:
        return f'"{shown}" is too short: in three words or more, {_EXAMPLE}'
    first = bare[0]
    if not (first.endswith("ed") or first in _IRREGULAR_PAST):
        return (
            f'"{shown}" does not start with a verb in the past tense: start with one, '
            'e.g. "Fixed …", "Added …", "Changed …", "Removed …"'
        )
    return None


def skip_trailers(repo: Path, base: str) -> list[str]:
    """The commits in *base*..HEAD that carry the trailer ``Changelog: skip``."""
    fmt = "--format=%H %(trailers:key=Changelog,valueonly,separator=%x2C)"
    proc = read(["git", "log", fmt, f"{base}..HEAD"], cwd=repo)
    if proc.returncode != 0:
        return []
    found = []
    for line in proc.stdout.splitlines():
        sha, _, values = line.partition(" ")
        if any(v.strip().lower() == "skip" for v in values.split(",")):
            found.append(sha)
    return found


def fragment_problems(repo: Path) -> list[str]:
    """One line per fragment towncrier would drop or that does not read as a user-facing change.
    Read once while only observing (each fragment is read: the preflight starts it early)."""
    return list(memoized(("fragment-problems", str(repo)), lambda: tuple(_problems(repo))))


def _problems(repo: Path) -> list[str]:
    scanned = scan_fragments(repo)
    valid = ", ".join(scanned.types)
    problems = []
    answers = _wording_problems(repo, scanned.directory, scanned.valid)
    for path, problem in zip(scanned.valid, answers, strict=True):
        if problem is not None:
            problems.append(f"{scanned.directory.name}/{path.name}: {problem}")
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


#: At most this many answers are kept (the newest): fragments come and go with releases.
_KEPT = 20_000


def _wording_problems(repo: Path, directory: Path, paths: Sequence[Path]) -> list[str | None]:
    """:func:`wording_problem` of each of *paths*, remembered by content for the next command.

    Reading every fragment was most of the wording check on a long-lived branch: 500
    fragments, 10 ms of 16 ms on every dry run and status, and more beside the preflight's
    other work (one system call per file, each giving the interpreter's lock away). git
    already knows which files hold what its index holds: a fragment ``git status`` does not
    list as changed in the work tree is the blob ``git ls-files --stage`` names (git checks
    the files, racy ones included, as it does for every ``status``). Its answer is kept in the
    user's cache (:mod:`.usercache`) under the blob's id and this module's source (a changed
    rule is another key); any other fragment (new, edited, or one git is told not to look at)
    is read. One git process, no read of a file git vouches for."""
    if not paths:
        return []
    trusted = _index_blobs(repo, directory)
    rules = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:32]
    store = usercache.folder("fragments") / f"{rules}.json"
    try:
        known = json.loads(store.read_text(encoding="utf-8")) if trusted else {}
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    learnt: dict[str, str | None] = {}
    answers: list[str | None] = []
    for path in paths:
        blob = trusted.get(path.name)
        if blob is not None and blob in known and _an_answer(known[blob]):
            answer = known[blob]
        else:
            answer = wording_problem(path.read_text(encoding="utf-8"))
            if blob is not None:
                learnt[blob] = answer
        answers.append(answer)
    if learnt:
        kept = {**known, **learnt}
        usercache.write_whole(store, json.dumps(dict(list(kept.items())[-_KEPT:])))
    return answers


def _index_blobs(repo: Path, directory: Path) -> dict[str, str]:
    """The fragments' names whose content is the blob git's index holds, with the blob's id:
    tracked, looked at by git (no skip-worktree or assume-unchanged) and unchanged in the
    work tree. Empty outside a git repository, or when a changed path is not plainly named."""
    staged = read(["git", "ls-files", "--stage", "-v", "-z", "--", str(directory)], cwd=repo)
    if staged.returncode != 0:
        return {}
    changed = set()
    for line in Git(repo).status_porcelain():  # the preflight's own, read once
        if line[1] == " ":  # the work tree holds what the index holds
            continue
        path = line[3:].split(" -> ")[-1]
        if path.startswith('"'):  # an unusual name git quotes: trust none
            return {}
        changed.add(path.rpartition("/")[2])  # by name: a namesake elsewhere is read too
    inside = os.path.relpath(directory, repo).replace(os.sep, "/") + "/"
    blobs = {}
    for entry in staged.stdout.split("\0"):
        info, _, path = entry.partition("\t")
        fields, name = info.split(), path.removeprefix(inside)
        if name == path or "/" in name or name in changed:  # not one of the scanned files
            continue
        if len(fields) == 4 and fields[0] == "H" and fields[3] == "0":
            blobs[name] = fields[2]
    return blobs


def _an_answer(kept: object) -> bool:
    return kept is None or isinstance(kept, str)
