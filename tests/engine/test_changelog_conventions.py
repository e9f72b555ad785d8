"""CHANGELOG.md as people know it: Keep a Changelog 1.1.0, checked by an independent parser.

python-kacl (PyPI) validates the header, the ``[Unreleased]`` section, semantic versions in
descending order, ``YYYY-MM-DD`` dates, sections of known types holding lists only, and a link
reference for every linked version title.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import kacl
import pytest

from release_engine.cli import check_fragments
from release_engine.config import Credentials, load_config
from release_engine.context import ReleaseContext
from release_engine.errors import ReleaseError
from release_engine.plan import Call, Status
from release_engine.proc import Command, run
from release_engine.rehearsal import clone_for_rehearsal
from release_engine.steps.git import Changelog
from release_engine.steps.rollback import YankInChangelog
from release_engine.tools import changelog
from release_engine.tools.keepachangelog import (
    compare_links,
    is_yanked,
    mark_yanked,
    released_versions,
    repository_url,
    update_links,
)
from release_engine.version import parse_version
from tests.conftest import NOT_FRAGMENTS, REPO, git, make_repo
from tests.engine.conftest import AFTER, VERSION, Rehearsal

URL = "https://github.com/your-org/finbot"
HEADER = """# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.0.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]
"""


def section(version: str, date: str, entry: str) -> str:
    return f"\n## [{version}] - {date}\n\n### Fixed\n\n- {entry}\n"


def kacl_problems(text: str, tmp_path: Path) -> list[str]:
    """Every error python-kacl finds with its defaults (as ``kacl-cli verify`` with no
    configuration), and what Keep a Changelog asks beyond them."""
    path = tmp_path / "kacl" / "CHANGELOG.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    cli = subprocess.run(["kacl-cli", "verify"], cwd=path.parent, capture_output=True, text=True)
    document = kacl.parse(text)
    problems = [f"{e.line_number()}: {e.error_message()}" for e in document.validate().errors()]
    if cli.returncode != 0 and not problems:
        problems.append(f"kacl-cli verify: {cli.stdout}{cli.stderr}")
    versions = [v.version() for v in document.versions()]
    if not versions or versions[0] != "Unreleased":
        problems.append(f"[Unreleased] is not the first section: {versions}")
    for v in document.versions():
        if not v.has_link_reference():
            problems.append(f"[{v.version()}] has no link reference")
        if v.version() != "Unreleased" and not re.fullmatch(r"\d{4}-\d\d-\d\d", v.date() or ""):
            problems.append(f"[{v.version()}] has no YYYY-MM-DD date")
    return problems


# --- the link functions ------------------------------------------------------------------
def test_first_release_links_its_tag_and_unreleased_compares_from_it() -> None:
    assert compare_links(["0.1.0"], URL, "v") == [
        ("Unreleased", f"{URL}/compare/v0.1.0...HEAD"),
        ("0.1.0", f"{URL}/releases/tag/v0.1.0"),
    ]
    assert compare_links([], URL, "v") == [("Unreleased", f"{URL}/commits/HEAD")]


def test_several_releases_compare_each_with_the_one_before() -> None:
    text = HEADER + section("0.2.0", "2026-02-01", "Two.") + section("0.1.0", "2026-01-01", "One.")
    linked = update_links(text, URL, "v")
    assert linked.endswith(
        "- One.\n\n"
        f"[Unreleased]: {URL}/compare/v0.2.0...HEAD\n"
        f"[0.2.0]: {URL}/compare/v0.1.0...v0.2.0\n"
        f"[0.1.0]: {URL}/releases/tag/v0.1.0\n"
    )
    assert update_links(linked, URL, "v") == linked  # idempotent: the step observes with it


def test_the_unreleased_link_moves_to_the_newest_tag(tmp_path: Path) -> None:
    before = update_links(HEADER + section("0.1.0", "2026-01-01", "One."), URL, "v")
    released = before.replace(
        "## [Unreleased]\n",
        "## [Unreleased]\n" + section("0.2.0", "2026-02-01", "Two."),
    )
    after = update_links(released, URL, "v")
    assert f"[Unreleased]: {URL}/compare/v0.2.0...HEAD" in after
    assert "compare/v0.1.0...HEAD" not in after
    assert after.count("[Unreleased]: ") == 1
    assert kacl_problems(after, tmp_path) == []


def test_a_hotfix_of_an_old_line_is_linked_between_its_neighbours(tmp_path: Path) -> None:
    text = (
        HEADER
        + section("0.3.0", "2026-03-01", "Three.")
        + section("0.2.1", "2026-03-02", "Hot.")
        + section("0.2.0", "2026-02-01", "Two.")
    )
    linked = update_links(text + "\n[#7]: https://example.org/7\n", URL, "v")
    assert f"[0.3.0]: {URL}/compare/v0.2.1...v0.3.0" in linked
    assert f"[0.2.1]: {URL}/compare/v0.2.0...v0.2.1" in linked
    assert f"[0.2.0]: {URL}/releases/tag/v0.2.0" in linked
    assert "[#7]: https://example.org/7" in linked  # references that are not ours stay
    assert released_versions(linked) == ["0.3.0", "0.2.1", "0.2.0"]


def test_tag_prefix_and_enterprise_host() -> None:
    assert repository_url("your-org/finbot") == URL
    assert repository_url("o/r", "https://ghe.example.com/api/v3/") == "https://ghe.example.com/o/r"
    assert compare_links(["1.0.0rc1"], URL, "release-")[1] == (
        "1.0.0rc1",
        f"{URL}/releases/tag/release-1.0.0rc1",
    )


def test_mark_yanked_marks_once_and_restores_a_reverted_section(tmp_path: Path) -> None:
    two = HEADER + section("0.2.0", "2026-02-01", "Two.")
    three = (
        HEADER + section("0.3.0", "2026-03-01", "Three.") + section("0.2.0", "2026-02-01", "Two.")
    )
    marked = mark_yanked(three, "0.3.0", three)
    assert "## [0.3.0] - 2026-03-01 [YANKED]" in marked
    assert is_yanked(marked, "0.3.0") and not is_yanked(marked, "0.2.0")
    assert mark_yanked(marked, "0.3.0", three) == marked
    # main after the revert has no [0.3.0]: it comes back from the tag, above [0.2.0]
    restored = update_links(mark_yanked(update_links(two, URL, "v"), "0.3.0", three), URL, "v")
    assert restored == update_links(marked, URL, "v")
    assert kacl_problems(restored, tmp_path) == []
    with pytest.raises(ReleaseError, match=r"the released changelog has no section \[0\.4\.0\]"):
        mark_yanked(two, "0.4.0", two)


def test_a_broken_changelog_is_refused_by_the_validator(tmp_path: Path) -> None:
    """The validator really validates: each of these guards fires."""
    good = update_links(HEADER + section("0.1.0", "2026-01-01", "One."), URL, "v")
    assert kacl_problems(good, tmp_path) == []
    no_link = good.replace(f"[0.1.0]: {URL}/releases/tag/v0.1.0\n", "")
    assert "[0.1.0] has no link reference" in kacl_problems(no_link, tmp_path)
    assert any("date" in p for p in kacl_problems(good.replace(" - 2026-01-01", ""), tmp_path))
    old_words = good.replace("will be documented", "are documented")
    assert any("Missing default content" in p for p in kacl_problems(old_words, tmp_path))
    no_unreleased = good.replace("## [Unreleased]\n", "")
    assert any("not the first section" in p for p in kacl_problems(no_unreleased, tmp_path))


def test_a_release_with_no_fragment_is_its_heading_alone(source_repo: Path, tmp_path: Path) -> None:
    """``--allow-empty``: the section is the version's heading, nothing under it (towncrier's
    own "No significant changes." would be text outside any type section)."""
    repo = make_repo(tmp_path / "repo", source_repo)
    for fragment in (repo / "changelog.d").glob("*.md"):
        if fragment.name not in NOT_FRAGMENTS:
            fragment.unlink()
    run(changelog.build_command(repo, VERSION, "2026-11-24"))
    after = update_links((repo / "CHANGELOG.md").read_text(encoding="utf-8"), URL, "v")
    assert (changelog.extract_section(after, VERSION) or "x").strip() == ""
    assert kacl_problems(after, tmp_path) == []  # links written as the release step does
    assert (repo / "changelog.d" / "template.md").exists()  # the template is no fragment


def test_this_repositorys_changelog_is_valid(tmp_path: Path) -> None:
    """The file as committed (CI runs on a fresh clone of the commit)."""
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert kacl_problems(text, tmp_path) == []
    assert update_links(text, URL, "v") == text  # the links the release would write


# --- the release's Changelog step --------------------------------------------------------
@pytest.mark.parametrize("github_repository", ["your-org/finbot", ""])
def test_changelog_step_writes_links_and_observes_an_interrupted_run(
    source_repo: Path, tmp_path: Path, github_repository: str
) -> None:
    repo = make_repo(tmp_path / "repo", source_repo)
    config = load_config(repo).with_overrides(github_repository=github_repository)
    ctx = ReleaseContext(repo, parse_version(VERSION), config, Credentials())
    step = Changelog()
    assert step.observe(ctx).status is Status.PENDING
    git(repo, "checkout", "-q", "-b", f"release/v{VERSION}")
    run(changelog.build_command(repo, VERSION, "2026-11-24"))  # killed before the links
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    if not github_repository:  # no repository to link into: no links to maintain
        assert step.observe(ctx).status is Status.DONE
        checkout = f"git checkout --quiet release/v{VERSION}"  # always: the branch it works on
        assert [a.render() for a in step.actions(ctx)] == [checkout]
        return
    seen = step.observe(ctx)
    assert (seen.status, seen.detail) == (
        Status.PENDING,
        f"link references for [{VERSION}] and [Unreleased]",
    )
    actions = step.actions(ctx)
    assert [type(a) for a in actions] == [Command, Call]  # towncrier does not run twice
    assert actions[0].render() == f"git checkout --quiet release/v{VERSION}"
    assert "rewrite the link references of CHANGELOG.md" in actions[1].render()
    step.act(ctx)
    assert step.observe(ctx).status is Status.DONE
    after = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    assert after == update_links(text, URL, "v")
    assert kacl_problems(after, tmp_path) == []
    # The new version's link: to its tag, or compared with the release before it (a project
    # released before; this suite also runs in main's tree after releases).
    link = next(line for line in after.splitlines() if line.startswith(f"[{VERSION}]: "))
    earlier = [v for v in released_versions(after) if v != VERSION]
    if earlier:
        assert link == f"[{VERSION}]: {URL}/compare/v{earlier[0]}...v{VERSION}"
    else:
        assert link == f"[{VERSION}]: {URL}/releases/tag/v{VERSION}"


def test_yank_step_is_skipped_where_main_has_no_changelog(
    source_repo: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", source_repo)
    git(repo, "rm", "-q", "CHANGELOG.md")
    git(repo, "commit", "-qm", "No changelog")
    ctx = ReleaseContext(repo, parse_version(VERSION), load_config(repo), Credentials())
    seen = YankInChangelog().observe(ctx)
    assert (seen.status, seen.detail) == (Status.SKIPPED, "main has no CHANGELOG.md")


# --- the commit trailer `Changelog: skip` ---------------------------------------------------
def inv(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["inv", *args], cwd=work, capture_output=True, text=True, timeout=600)


@pytest.fixture
def branch(source_repo: Path, tmp_path: Path) -> Path:
    """A clone on a branch with one commit that touches no fragment."""
    work = clone_for_rehearsal(source_repo, tmp_path)
    git(work, "checkout", "-q", "-b", "tests-only")
    (work / "tests" / "note.txt").write_text("a test helper\n")
    git(work, "add", "--all")
    git(work, "commit", "-qm", "Add a test helper")
    return work


def test_a_branch_without_fragment_or_trailer_fails_the_check(branch: Path) -> None:
    with pytest.raises(ReleaseError) as caught:
        check_fragments(branch, None)
    message = str(caught.value)
    assert "adds no changelog fragment since origin/main" in message
    assert "Changelog: skip" in message and "\n" not in message


def test_the_trailer_changelog_skip_passes_the_check_and_says_so(
    branch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (branch / "tests" / "note.txt").write_text("a better test helper\n")
    git(branch, "commit", "-qam", "Improve the test helper", "--trailer", "Changelog: skip")
    sha = git(branch, "rev-parse", "HEAD")
    check_fragments(branch, None)
    said = f"commit {sha[:12]} since origin/main has the trailer 'Changelog: skip'"
    assert said in capsys.readouterr().out
    # As a contributor runs it:
    proc = inv(branch, "changelog.check")
    assert (proc.returncode, said in proc.stdout) == (0, True), proc.stderr
    # A trailer on a commit already on main does not count for the next branch.
    git(branch, "push", "-q", "origin", "HEAD:main")
    git(branch, "fetch", "-q", "origin")
    (branch / "tests" / "note.txt").write_text("another test helper\n")
    git(branch, "commit", "-qam", "Change the helper again")
    with pytest.raises(ReleaseError, match="adds no changelog fragment"):
        check_fragments(branch, None)
    assert changelog.skip_trailers(branch, "no-such-branch") == []  # git log failed: no skip


def test_fragments_are_still_checked_when_the_trailer_says_skip(branch: Path) -> None:
    git(branch, "commit", "-q", "--allow-empty", "-m", "Tidy", "--trailer", "Changelog: skip")
    (branch / "changelog.d" / "+bad.fixed.md").write_text("TODO\n")
    with pytest.raises(
        ReleaseError, match=r'changelog\.d/\+bad\.fixed\.md: "TODO" is a placeholder'
    ):
        check_fragments(branch, None)


def test_a_fragment_passes_the_check_without_a_trailer(
    branch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (branch / "changelog.d" / "+helper.fixed.md").write_text("Fixed the test helper's output.\n")
    git(branch, "add", "--all")
    git(branch, "commit", "-qm", "Fix the helper")
    check_fragments(branch, None)
    assert "changelog fragments OK against origin/main" in capsys.readouterr().out


# --- a real rehearsed release, then a rollback ----------------------------------------------
@pytest.mark.e2e
def test_released_changelog_is_keep_a_changelog_then_the_rollback_yanks(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    r = rehearsal
    # The links a real release writes: into the project's own repository, not the stand-in's.
    url = repository_url(load_config(r.work).github_repository)
    assert url == URL and r.s.github.repository not in url
    before = released_versions(git(r.remote, "show", "main:CHANGELOG.md"))  # the project's own
    r.run(VERSION)
    main = git(r.remote, "show", "main:CHANGELOG.md")
    assert kacl_problems(main, tmp_path) == []
    assert re.search(
        rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d\d-\d\d$", main, flags=re.MULTILINE
    )
    assert f"[Unreleased]: {url}/compare/v{VERSION}...HEAD" in main
    assert main.index("## [Unreleased]") < main.index(f"## [{VERSION}]")
    assert git(r.remote, "show", f"v{VERSION}:CHANGELOG.md") == main

    (r.work / "changelog.d" / "+second.fixed.md").write_text("Fixed the second thing.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", "Fix the second thing")
    git(r.work, "push", "-q", "origin", "main")
    r.run(AFTER)
    main = git(r.remote, "show", "main:CHANGELOG.md")
    assert kacl_problems(main, tmp_path) == []
    first = f"compare/v{before[0]}...v{VERSION}" if before else f"releases/tag/v{VERSION}"
    links = main[main.index("\n[Unreleased]: ") + 1 :]  # git() strips the last newline
    expected = (
        f"[Unreleased]: {url}/compare/v{AFTER}...HEAD\n"
        f"[{AFTER}]: {url}/compare/v{VERSION}...v{AFTER}\n"
        f"[{VERSION}]: {url}/{first}"
    )
    rest = links.removeprefix(expected)
    assert rest != links and (rest.startswith(f"\n[{before[0]}]: ") if before else rest == "")

    git(r.work, "checkout", "-q", "main")
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    r.rollback(AFTER)
    main = git(r.remote, "show", "main:CHANGELOG.md")
    assert re.search(
        rf"^## \[{re.escape(AFTER)}\] - \d{{4}}-\d\d-\d\d \[YANKED\]$", main, flags=re.MULTILINE
    )
    assert kacl_problems(main, tmp_path) == []
    assert (
        git(r.remote, "log", "-1", "--format=%s", "main")
        == f"Mark v{AFTER} yanked in the changelog"
    )
    head = git(r.remote, "rev-parse", "main")
    r.rollback(AFTER)  # done: nothing changes
    assert git(r.remote, "rev-parse", "main") == head
