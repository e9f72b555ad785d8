"""Changelog fragments and sections, with the real towncrier."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_engine.errors import UsageError
from release_engine.proc import run
from release_engine.tools import changelog
from tests.conftest import git, make_repo

CHANGELOG = """# Changelog

<!-- towncrier release notes start -->

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


@pytest.fixture
def repo(source_repo: Path, tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "repo", source_repo)
    for fragment in (path / "changelog.d").glob("*.md"):
        if fragment.name != "README.md":
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


def test_unknown_types_are_caught_because_towncrier_drops_them(repo: Path) -> None:
    (repo / "changelog.d" / "7.feature.md").write_text("Added a thing.\n")
    (repo / "changelog.d" / "8.fixed.md").write_text("Fixed a thing.\n")
    scanned = changelog.scan_fragments(repo)
    assert [p.name for p in scanned.unknown] == ["7.feature.md"]
    draft = changelog.draft(repo, "9.9.9", "2026-11-24")
    assert "Fixed a thing." in draft
    assert "Added a thing." not in draft  # the reason the check exists


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
    assert text.index("<!-- towncrier release notes start -->") < text.index("## [1.2.3]")
    assert changelog.scan_fragments(repo).valid == ()
