"""The guards of the forward merge and the rollback: a conflict is one line and changes nothing."""

from __future__ import annotations

import pytest

from release_engine.errors import ReleaseError
from release_engine.remotes import index
from release_engine.tools import keepachangelog
from tests.conftest import git
from tests.engine.conftest import AFTER, HOTFIX, VERSION, Rehearsal


def write(r: Rehearsal, text: str, fragment: str | None = None) -> None:
    (r.work / "shared.txt").write_text(f"{text}\n")
    if fragment is not None:
        (r.work / "changelog.d" / f"+{fragment}.fixed.md").write_text(f"Fixed {fragment} here.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", text)
    branch = git(r.work, "rev-parse", "--abbrev-ref", "HEAD")
    git(r.work, "push", "-q", "origin", branch)


def merging(r: Rehearsal) -> bool:
    return (r.work / ".git" / "MERGE_HEAD").exists()


def state(r: Rehearsal) -> tuple[str, str, str, bool]:
    return (
        git(r.remote, "rev-parse", "main"),
        git(r.work, "rev-parse", "HEAD"),
        git(r.work, "status", "--porcelain"),
        merging(r),
    )


@pytest.mark.e2e
def test_conflicts_in_the_code_stop_with_one_line_and_change_nothing(r: Rehearsal) -> None:
    write(r, "first", "first")
    r.run(VERSION)
    write(r, "second", "second")
    r.run(AFTER)
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    write(r, "third, on main after the release")

    # --- the rollback's revert meets later work on the same line ---
    before = state(r)
    with pytest.raises(ReleaseError) as exc:
        r.rollback(AFTER)
    message = exc.value.message
    assert f"reverting v{AFTER} conflicts with later work on main in shared.txt" in message
    assert "\n" not in message and message.endswith(f"'Rollback: v{AFTER}'")
    assert f"inv rollback --version {AFTER}" in str(exc.value)  # and how to resume
    assert state(r) == before  # nothing committed, nothing left half-done
    assert f"rollback-v{AFTER}" not in git(r.remote, "tag", "--list")

    # --- the hotfix's forward merge meets main's change to the same line ---
    git(r.work, "checkout", "-q", "-b", f"hotfix/v{HOTFIX}", f"v{VERSION}")
    write(r, "the fix", "hot")
    main_before = git(r.remote, "rev-parse", "main")
    with pytest.raises(ReleaseError) as exc:
        r.run(HOTFIX)
    message = exc.value.message
    assert f"merging v{HOTFIX} into main conflicts in shared.txt: merge it by hand" in message
    assert "\n" not in message
    assert git(r.remote, "rev-parse", "main") == main_before
    assert not merging(r)
    assert git(r.work, "status", "--porcelain") == ""
    assert f"v{HOTFIX}" in git(r.remote, "tag", "--list")  # the fix itself is published

    # By hand, as the line says; then the same command finds the merge done and finishes.
    git(r.work, "merge", "-q", "-X", "theirs", "-m", "Merge the hotfix by hand", f"v{HOTFIX}")
    git(r.work, "push", "-q", "origin", "main")
    git(r.work, "checkout", "-q", f"hotfix/v{HOTFIX}")
    report = r.run(HOTFIX)
    assert {o.name: o.status for o in report.steps}["forward-merge"] == "done"


@pytest.fixture
def r(imageless_rehearsal: Rehearsal) -> Rehearsal:
    """The guards are about git: no image is built (the image steps are skipped)."""
    return imageless_rehearsal


def test_insert_section_goes_in_version_order_once() -> None:
    main = "# Changelog\n\n## [Unreleased]\n\n## [0.3.0] - d\n\n- c\n\n## [0.2.0] - d\n\n- a\n"
    released = "# Changelog\n\n## [0.2.1] - d\n\n- fix\n\n## [0.2.0] - d\n\n- a\n"
    merged = keepachangelog.insert_section(main, "0.2.1", released)
    assert keepachangelog.released_versions(merged) == ["0.3.0", "0.2.1", "0.2.0"]
    assert "- fix" in merged
    assert keepachangelog.insert_section(merged, "0.2.1", released) == merged
    oldest = keepachangelog.insert_section("# C\n\n## [0.3.0] - d\n\n- c\n", "0.2.1", released)
    assert keepachangelog.released_versions(oldest) == ["0.3.0", "0.2.1"]
    with pytest.raises(ReleaseError, match=r"no section \[0.9.0\]"):
        keepachangelog.insert_section(main, "0.9.0", released)


def test_yank_guidance_names_the_index_and_the_way() -> None:
    pypi = index.yank_guidance("https://pypi.org/simple/", "Market_Data", "0.3.1", "rolled back")
    assert "https://pypi.org/manage/project/market-data/release/0.3.1/" in pypi
    assert "Yank" in pypi and "PEP 592" in pypi
    other = index.yank_guidance("http://127.0.0.1:1/simple/", "pkg", "1.0.0", "rolled back")
    assert "http://127.0.0.1:1/simple/" in other and "pypiserver does not" in other
