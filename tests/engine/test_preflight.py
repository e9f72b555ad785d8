"""Every preflight guard, made to fire; and a failed preflight changes nothing."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from release_engine.cadence import next_version
from release_engine.config import Credentials
from release_engine.context import Options, ReleaseContext, release_lock
from release_engine.engine import open_release, release
from release_engine.errors import PreflightError, ReleaseError, UsageError
from release_engine.output import ConsoleReporter
from release_engine.preflight import preflight
from release_engine.redact import Secrets
from release_engine.rehearsal import clone_for_rehearsal
from release_engine.tools import changelog
from release_engine.version import parse_version
from tests.conftest import NOT_FRAGMENTS, git
from tests.engine.conftest import CURRENT, HOTFIX, VERSION

LOCAL_ONLY = {"github_repository": "", "index_url": "", "index_simple_url": "", "image": "",
              "required_channels": (), "smtp_host": "", "email_from": "",
              "email_to": ()}  # fmt: skip
SKIPS = Options(skip_prerelease=True)
CURRENT_PATCH = next_version(parse_version(CURRENT), "patch").pep440
LATER_PATCH = f"{VERSION.rsplit('.', 1)[0]}.5"  # a newer patch on the next version's line


@pytest.fixture
def work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    return make_work(source_repo, tmp_path)


def make_work(source_repo: Path, tmp_path: Path) -> Path:
    """A clone of this repository whose origin is a local bare remote, with a change waiting
    (right after a release this repository has no fragment: one is added, committed, pushed)."""
    work = clone_for_rehearsal(source_repo, tmp_path)
    if not changelog.scan_fragments(work).valid:
        (work / "changelog.d" / "+pending.added.md").write_text("Added a pending change.\n")
        git(work, "add", "--all")
        git(work, "commit", "-q", "-m", "A change waits")
        git(work, "push", "-q", "origin", "main")
    return work


def open_local(
    work: Path, version: str = VERSION, options: Options = SKIPS, **overrides: Any
) -> ReleaseContext:
    return open_release(
        work,
        parse_version(version),
        overrides={**LOCAL_ONLY, **overrides},
        options=options,
        credentials=Credentials(),
    )


def problems(ctx: ReleaseContext) -> list[str]:
    with pytest.raises(PreflightError) as exc:
        preflight(ctx)
    return exc.value.problems


def snapshot(work: Path) -> tuple[str, str, str]:
    return (
        git(work, "show-ref"),
        git(work, "status", "--porcelain"),
        git(work, "ls-remote", "origin"),
    )


def test_a_clean_repository_passes(work: Path) -> None:
    assert preflight(open_local(work)) == [
        "documentation check: the first release, nothing to compare with",
        "prerelease matrix check skipped (--skip-prerelease)",
        "no GitHub configured (github_repository): CI and review not asked",
    ]


def test_malformed_version_is_one_line_before_anything(work: Path) -> None:
    with pytest.raises(UsageError) as exc:
        open_local(work, "1.2")
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("version", [CURRENT, "0.0.0"])
def test_version_must_be_greater_than_current(work: Path, version: str) -> None:
    assert any(
        f"not greater than the current version {CURRENT}" in p
        for p in problems(open_local(work, version))
    )


def test_version_must_be_above_the_newest_tag_of_its_line(work: Path) -> None:
    git(work, "tag", "-a", f"v{LATER_PATCH}", "-m", "old")
    assert any(
        f"v{LATER_PATCH} is already released" in p for p in problems(open_local(work, HOTFIX))
    )


def test_tag_already_on_the_remote(work: Path) -> None:
    git(work, "tag", f"v{VERSION}")
    git(work, "push", "-q", "origin", f"v{VERSION}")
    git(work, "tag", "-d", f"v{VERSION}")
    assert any(f"tag v{VERSION} already exists on origin" in p for p in problems(open_local(work)))


def test_not_on_main(work: Path) -> None:
    git(work, "checkout", "-q", "-b", "feature")
    assert any("not 'main'" in p for p in problems(open_local(work)))


@pytest.mark.parametrize("change", ["untracked", "staged", "modified"])
def test_dirty_tree(work: Path, change: str) -> None:
    if change == "modified":
        (work / "README.md").write_text("changed\n")
    else:
        (work / "new.txt").write_text("x\n")
        if change == "staged":
            git(work, "add", "new.txt")
    assert any("working tree is not clean" in p for p in problems(open_local(work)))


def test_local_main_differs_from_remote(work: Path) -> None:
    git(work, "commit", "-q", "--allow-empty", "-m", "unpushed")
    assert any("differs from origin/main" in p for p in problems(open_local(work)))


def test_no_fragments_unless_allow_empty(work: Path) -> None:
    fragments = (work / "changelog.d").glob("*.md")
    git(work, "rm", "-q", *(str(f) for f in fragments if f.name not in NOT_FRAGMENTS))
    git(work, "commit", "-q", "-m", "no fragments")
    git(work, "push", "-q", "origin", "main")
    assert any("no changelog fragments" in p for p in problems(open_local(work)))
    preflight(open_local(work, options=Options(skip_prerelease=True, allow_empty=True)))


def test_fragment_of_unknown_type(work: Path) -> None:
    (work / "changelog.d" / "12.feature.md").write_text("Added a thing.\n")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", "bad fragment")
    git(work, "push", "-q", "origin", "main")
    assert any(
        "12.feature.md: unknown fragment type 'feature'" in p for p in problems(open_local(work))
    )


def test_version_file_not_at_current_version(work: Path) -> None:
    init = work / "src" / "market_data_ingestion" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{CURRENT}"', '"0.0.7"'))
    git(work, "commit", "-q", "-am", "drift")
    git(work, "push", "-q", "origin", "main")
    assert any(f"a version file does not carry {CURRENT}" in p for p in problems(open_local(work)))


def test_missing_credentials_are_named_not_printed(work: Path) -> None:
    ctx = open_local(work, github_repository="o/r", index_url="http://127.0.0.1:9/")
    found = problems(ctx)
    assert any("GITHUB_TOKEN is not set" in p for p in found)
    assert any("TWINE_PASSWORD is not set" in p for p in found)


def test_no_green_prerelease_run_recorded(work: Path) -> None:
    assert any("nox -s prerelease" in p for p in problems(open_local(work, options=Options())))


def test_every_problem_is_reported_at_once_and_nothing_changes(work: Path) -> None:
    (work / "changelog.d" / "1.feature.md").write_text("x\n")
    git(work, "checkout", "-q", "-b", "feature")
    before = snapshot(work)
    ctx = open_local(work, "0.0.1")
    with pytest.raises(PreflightError) as exc:
        release(ctx, ConsoleReporter())
    assert len(exc.value.problems) >= 4
    assert "preflight failed with" in str(exc.value)
    assert snapshot(work) == before


def test_a_second_release_in_the_same_repository_is_refused(work: Path) -> None:
    with release_lock(work), pytest.raises(ReleaseError, match="another release is running"):
        release(open_local(work), ConsoleReporter())


def test_lock_is_held_across_processes(work: Path) -> None:
    lock = work / ".git" / "release.lock"
    holder = subprocess.Popen(
        [
            "python",
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ReleaseError, match="another release is running"):
            release(open_local(work), ConsoleReporter())
    finally:
        holder.kill()
        holder.wait()
    assert fcntl.LOCK_EX  # the lock is free again: a release may start
    with release_lock(work):
        pass


def test_rollback_refusals_come_before_anything_changes(work: Path) -> None:
    from release_engine.cli import rollback_command

    def refused(version: str) -> list[str]:
        before = snapshot(work)
        with pytest.raises(PreflightError) as exc:
            rollback_command(work, version, secrets=Secrets())
        assert snapshot(work) == before
        return exc.value.problems

    def release_tag(version: str) -> None:
        git(work, "commit", "-q", "--allow-empty", "-m", f"Release v{version}")
        git(work, "tag", "-a", f"v{version}", "-m", f"Release version {version}")
        git(work, "push", "-q", "origin", "main", f"v{version}")

    assert refused(CURRENT) == [f"v{CURRENT} was never released: origin has no such tag"]
    release_tag(CURRENT)
    assert "is the first release" in refused(CURRENT)[0]
    release_tag(CURRENT_PATCH)
    assert refused(CURRENT)[0].startswith(f"v{CURRENT} is not the newest release (v")
    git(work, "checkout", "-q", "-b", "feature")
    (work / "stray.txt").write_text("x\n")
    found = refused(CURRENT_PATCH)
    assert any("not on main" in p for p in found)
    assert any("not clean" in p for p in found)
    git(work, "tag", "-a", f"rollback-v{CURRENT}", "-m", "by hand", f"v{CURRENT}")
    git(work, "push", "-q", "origin", f"rollback-v{CURRENT}")
    git(work, "tag", "-a", f"v{CURRENT}rc1", "-m", "a pre-release", f"v{CURRENT}")
    git(work, "push", "-q", "origin", f"v{CURRENT}rc1")
    assert "is a pre-release" in refused(f"{CURRENT}rc1")[0]
    # CURRENT was rolled back, CURRENT_PATCH came after it: nothing to roll back, ever again.
    assert "was rolled back already" in refused(CURRENT)[0]


def test_hotfix_guards(work: Path) -> None:
    from release_engine.steps.hotfix import plan_hotfix

    git(work, "tag", "-a", f"v{CURRENT}", "-m", f"Release version {CURRENT}")
    with pytest.raises(UsageError, match="pre-release"):
        plan_hotfix(work, f"v{CURRENT}rc1")
    git(work, "tag", "-a", f"v{CURRENT_PATCH}", "-m", f"Release version {CURRENT_PATCH}")
    git(work, "branch", f"hotfix/v{CURRENT_PATCH}")
    (work / "stray.txt").write_text("x\n")
    with pytest.raises(PreflightError) as exc:
        plan_hotfix(work, f"v{CURRENT}")
    found = exc.value.problems
    with pytest.raises(PreflightError) as bare:  # the version alone names the same tag
        plan_hotfix(work, CURRENT)
    assert bare.value.problems == found
    with pytest.raises(UsageError, match=r"takes a release tag such as v1\.2\.3"):
        plan_hotfix(work, f"release-{CURRENT}")
    assert any(f"v{CURRENT_PATCH} is already released" in p for p in found)
    assert any(f"branch hotfix/v{CURRENT_PATCH} already exists" in p for p in found)
    assert any("not clean" in p for p in found)
