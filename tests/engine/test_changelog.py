"""Changelog fragments and sections, with the real towncrier."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from release_engine.errors import ReleaseError, UsageError
from release_engine.proc import run
from release_engine.tools import changelog
from tests.conftest import NOT_FRAGMENTS, REPO, git, make_repo

CHANGELOG = """# Changelog

## [Unreleased]

## [1.1.0] - 2026-02-01

### Added

- Thing two.

## [1.0.0] - 2026-01-01

### Fixed

- Thing one.
"""


def test_extract_section_takes_exactly_one_version() -> None:
    assert changelog.extract_section(CHANGELOG, "1.1.0") == "### Added\n\n- Thing two.\n"
    assert changelog.extract_section(CHANGELOG, "1.0.0") == "### Fixed\n\n- Thing one.\n"
    assert changelog.extract_section(CHANGELOG, "1.0") is None
    assert changelog.extract_section(CHANGELOG, "2.0.0") is None
    linked = CHANGELOG + "\n[Unreleased]: https://x/compare/v1.1.0...HEAD\n[1.0.0]: https://x\n"
    assert changelog.extract_section(linked, "1.0.0") == "### Fixed\n\n- Thing one.\n"


@pytest.fixture
def repo(source_repo: Path, tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "repo", source_repo)
    for fragment in (path / "changelog.d").glob("*.md"):
        if fragment.name not in NOT_FRAGMENTS:
            fragment.unlink()
    return path


def test_add_fragment_names_files_as_contributors_should(repo: Path) -> None:
    first = changelog.add_fragment(repo, "fixed", "Fixed the thing.", issue="12")
    second = changelog.add_fragment(repo, "fixed", "Fixed it again.", issue="12")
    orphan = changelog.add_fragment(repo, "added", "Added a CSV importer!")
    assert [first.name, second.name, orphan.name] == [
        "12.fixed.md",
        "12.fixed.1.md",
        "+added-a-csv-importer.added.md",
    ]
    scanned = changelog.scan_fragments(repo)
    assert {p.name for p in scanned.valid} == {first.name, second.name, orphan.name}
    assert scanned.unknown == ()


@pytest.mark.parametrize(
    ("kind", "text", "issue"),
    [("feature", "Added x.", None), ("fixed", "   ", None), ("fixed", "Fixed x.", "#12")],
)
def test_add_fragment_refuses_bad_input(
    repo: Path, kind: str, text: str, issue: str | None
) -> None:
    with pytest.raises(UsageError):
        changelog.add_fragment(repo, kind, text, issue)
    assert changelog.scan_fragments(repo).valid == ()


def test_unknown_types_are_caught_by_us_and_by_towncrier_itself(repo: Path) -> None:
    (repo / "changelog.d" / "7.feature.md").write_text("Added a thing.\n")
    (repo / "changelog.d" / "8.fixed.md").write_text("Fixed a thing here.\n")
    scanned = changelog.scan_fragments(repo)
    assert [p.name for p in scanned.unknown] == ["7.feature.md"]
    assert changelog.fragment_problems(repo) == [
        "changelog.d/7.feature.md: unknown fragment type 'feature'; valid types: "
        "added, changed, deprecated, removed, fixed, security"
    ]
    # [tool.towncrier] ignore lists every other file allowed here: towncrier refuses the rest.
    with pytest.raises(ReleaseError, match=r"Invalid news fragment name: 7\.feature\.md"):
        changelog.draft(repo, "9.9.9", "2026-11-24")
    (repo / "changelog.d" / "7.feature.md").unlink()
    (repo / "changelog.d" / ".gitkeep").write_text("")
    assert "Fixed a thing here." in changelog.draft(repo, "9.9.9", "2026-11-24")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "the text is empty: say what changed for users, in the past tense"),
        ("TODO", '"TODO" is a placeholder: say what changed for users'),
        ("Fixed ...", '"Fixed ..." is a placeholder'),
        ("WIP: fixed the importer", "is a placeholder"),
        ("tbd", "is a placeholder"),
        ("Fixed it", '"Fixed it" is too short: in three words or more'),
        ("Adds a CSV importer.", "does not start with a verb in the past tense"),
        ("`inv release` now prints more.", "does not start with a verb in the past tense"),
    ],
)
def test_wording_guards_fire_with_a_one_line_hint(repo: Path, text: str, hint: str) -> None:
    problem = changelog.wording_problem(text)
    assert problem is not None and hint in problem and "\n" not in problem
    with pytest.raises(UsageError, match=re.escape(hint)):
        changelog.add_fragment(repo, "fixed", text)
    assert changelog.scan_fragments(repo).valid == ()
    (repo / "changelog.d" / "+x.fixed.md").write_text(text)
    assert changelog.fragment_problems(repo) == [f"changelog.d/+x.fixed.md: {problem}"]


@pytest.mark.parametrize(
    "text",
    [
        "Fixed a crash when the feed was empty.",
        "Added the `--json` flag.",
        "Made the importer twice as fast.",
        "Built the wheel once per release.",
        "Dropped support for Python 3.9.",
        "Kept the old flag as an alias.",
        "Refused a fragment that says only `TODO`.",  # a code span names a placeholder
    ],
)
def test_past_tense_fragments_pass(text: str) -> None:
    assert changelog.wording_problem(text) is None


def test_a_fragments_wording_is_remembered_only_for_what_git_vouches_for(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wording check's answers are remembered by blob id for the fragments git's index
    holds unchanged; a fragment changed in the work tree (even keeping its size and times),
    one git is told not to look at, an untracked one, all are read; a broken cache is
    ignored."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    checked: list[str] = []
    real = changelog.wording_problem
    monkeypatch.setattr(changelog, "wording_problem", lambda t: checked.append(t) or real(t))
    fragment = repo / "changelog.d" / "+x.fixed.md"
    fragment.write_text("Fixed the feed's parser.\n")
    git(repo, "add", str(fragment))
    git(repo, "commit", "--quiet", "-m", "A fragment")
    for reads in (1, 1, 1):  # read once, then remembered
        assert changelog.fragment_problems(repo) == [] and len(checked) == reads
    before = fragment.stat()
    fragment.write_text("Fixes the feed's parser.\n")
    os.utime(fragment, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert fragment.stat().st_size == before.st_size
    problems = changelog.fragment_problems(repo)
    assert len(checked) == 2 and len(problems) == 1 and "past tense" in problems[0]
    git(repo, "update-index", "--assume-unchanged", str(fragment))  # status then says nothing
    assert changelog.fragment_problems(repo) == problems and len(checked) == 3
    git(repo, "update-index", "--no-assume-unchanged", str(fragment))
    git(repo, "checkout", "--", str(fragment))
    (repo / "changelog.d" / "+y.fixed.md").write_text("Fixes the feed's importer.\n")
    problems = changelog.fragment_problems(repo)
    assert len(checked) == 4 and [p.split(":")[0] for p in problems] == ["changelog.d/+y.fixed.md"]
    for store in (tmp_path / "cache" / "release-engine" / "fragments").iterdir():
        store.write_text('{"0123": [1, 2')
    assert changelog.fragment_problems(repo) == problems and len(checked) == 6


def test_every_fragment_waiting_in_this_repository_passes() -> None:
    assert changelog.fragment_problems(REPO) == []


def test_build_writes_keep_a_changelog_section_and_removes_fragments(repo: Path) -> None:
    changelog.add_fragment(repo, "security", "Fixed API key exposure in logs.", issue="127")
    changelog.add_fragment(repo, "added", "Added rate limiting.")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "fragments")
    run(changelog.build_command(repo, "1.2.3", "2024-01-15"))
    text = (repo / "CHANGELOG.md").read_text()
    section = changelog.extract_section(text, "1.2.3")
    assert "## [1.2.3] - 2024-01-15" in text
    assert section is not None
    assert section.index("### Added") < section.index("### Security")
    assert "[#127](https://github.com/your-org/finbot/issues/127)" in section
    assert text.index("## [Unreleased]") < text.index("## [1.2.3]")  # towncrier's start
    assert "<!--" not in text  # nothing outside a section: strict Keep a Changelog parsers
    assert changelog.scan_fragments(repo).valid == ()
