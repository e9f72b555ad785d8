"""The logic behind the sessions: the green-run record, the summary, the nested nox runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from release_engine.config import ReleaseConfig, load_config
from release_engine.prerelease import matrix as prerelease
from release_engine.prerelease.matrix import SessionResult, green_run_for, record_green_run
from release_engine.prerelease.upgrade import find_previous, is_first_release, version_under_test
from release_engine.tools import changelog
from release_engine.tools.git import Git
from release_engine.version import parse_version

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PASSED = [SessionResult("lint", "success", 1.0), SessionResult("tests-3.10", "success", 2.5)]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A committed repository that ignores .release/prerelease/, as this one does; its HEAD."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch", "main")
    (path / ".gitignore").write_text(".release/prerelease/\n")
    (path / "README.md").write_text("hello\n")
    git(path, "add", "--all")
    git(path, "-c", "user.name=T", "-c", "user.email=t@localhost", "commit", "-qm", "one")
    return path, git(path, "rev-parse", "HEAD")


def test_green_run_is_recorded_for_a_clean_tree(repo: tuple[Path, str]) -> None:
    path, sha = repo
    assert not green_run_for(path, sha)
    record = record_green_run(path, sha, "1.2.3", PASSED)
    assert record == path / ".release" / "prerelease" / f"{sha}.json"
    assert green_run_for(path, sha)
    assert json.loads(record.read_text())["sessions"][1]["session"] == "tests-3.10"
    assert not green_run_for(path, "0" * 40)


@pytest.mark.parametrize("result", ["failed", "skipped", "aborted"])
def test_no_record_unless_every_session_passed(repo: tuple[Path, str], result: str) -> None:
    path, sha = repo
    results = [*PASSED, SessionResult("image", result, 3.0)]
    assert record_green_run(path, sha, "1.2.3", results) is None
    assert record_green_run(path, sha, "1.2.3", []) is None
    assert not green_run_for(path, sha)


def test_no_record_for_a_dirty_tree(repo: tuple[Path, str]) -> None:
    path, sha = repo
    (path / "new.txt").write_text("untracked\n")
    assert record_green_run(path, sha, "1.2.3", PASSED) is None
    (path / "new.txt").unlink()
    (path / "README.md").write_text("changed\n")
    assert record_green_run(path, sha, "1.2.3", PASSED) is None
    assert not green_run_for(path, sha)


def test_no_record_when_head_moved_during_the_run(repo: tuple[Path, str]) -> None:
    path, sha = repo
    git(path, "-c", "user.name=T", "-c", "user.email=t@localhost", "commit", "-qm", "2",
        "--allow-empty")  # fmt: skip
    assert record_green_run(path, sha, "1.2.3", PASSED) is None


def test_a_tampered_or_broken_record_is_not_green(repo: tuple[Path, str]) -> None:
    path, sha = repo
    record = record_green_run(path, sha, "1.2.3", PASSED)
    assert record is not None
    data = json.loads(record.read_text())
    data["sessions"][0]["result"] = "failed"
    record.write_text(json.dumps(data))
    assert not green_run_for(path, sha)
    data["sessions"][0]["result"] = "success"
    record.write_text(json.dumps({**data, "sha": "f" * 40}))
    assert not green_run_for(path, sha)
    record.write_text(json.dumps({**data, "sessions": []}))
    assert not green_run_for(path, sha)
    record.write_text("{not json")
    assert not green_run_for(path, sha)
    assert not green_run_for(path, "../../etc/passwd")


def test_this_repository_ignores_what_the_matrix_writes() -> None:
    for path in (".release/prerelease/x.json", ".nox-artifacts/dist/x.whl", ".nox/lint"):
        assert git(REPO, "check-ignore", path) == path


def test_summary_table() -> None:
    table = prerelease.format_summary(
        [*PASSED, SessionResult("image", "skipped", 0.04, "no container engine")]
    ).splitlines()
    assert table[0].split() == ["session", "result", "seconds", "reason"]
    assert table[2].split() == ["lint", "success", "1.0"]
    assert table[4].split()[:3] == ["image", "skipped", "0.0"]
    assert table[4].endswith("no container engine")
    assert table[-2].split() == ["total", "1", "not", "passed", "3.5"]
    assert table[-1] == f"prerelease: {len(PASSED)} passed, 0 failed, 1 skipped"
    assert "all passed" in prerelease.format_summary(PASSED)
    assert prerelease.format_summary(PASSED).endswith(f"{len(PASSED)} passed, 0 failed")
    total = prerelease.format_summary(PASSED, wall=2.75).splitlines()[-2]
    assert total.split()[:5] == ["total", "all", "passed", "3.5", "in"]
    assert total.endswith("in 2.8 s of wall-clock time (two lanes)")


def test_two_lanes_only_when_both_have_a_session() -> None:
    """The summary's "(two lanes)" is said only of a run that had them."""
    names = ["lint", "tests", "build"]
    assert prerelease.lanes_used(names, {"tests"}, 2) == 2
    assert prerelease.lanes_used(names, {"tests"}, 1) == 1
    assert prerelease.lanes_used(names, set(), 2) == 1  # nothing on every core
    assert prerelease.lanes_used(names, set(names), 2) == 1  # nothing beside
    assert prerelease.lanes_used(["lint"], {"tests"}, 2) == 1  # -s lint: one lane


def test_nested_runs_share_the_environment_options() -> None:
    argv = ["--envdir", "/x", "-R", "-s", "prerelease", "--default-venv-backend=uv", "--", "-v"]
    assert prerelease.forwarded_nox_options(argv) == [
        "--envdir", "/x", "-R", "--default-venv-backend=uv",
    ]  # fmt: skip


def test_run_session_reads_each_result(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import nox\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def good(session): pass\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def bad(session): session.error('broken on purpose')\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def skipped(session): session.skip('nothing to do')\n"
        "@nox.session(python=False)\n"
        "def other(session): pass\n"
    )
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    assert prerelease.list_sessions(nox, "checklist") == ["good", "bad", "skipped"]
    results = {name: prerelease.run_session(nox, name) for name in ("good", "bad", "skipped")}
    assert results["good"].passed
    assert (results["bad"].result, results["bad"].reason) == ("aborted", "broken on purpose")
    assert (results["skipped"].result, results["skipped"].passed) == ("skipped", False)
    missing = prerelease.run_session(nox, "no-such-session")
    assert missing.result == "failed" and not missing.passed


def test_run_session_adds_env_to_the_nested_run(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import os, nox\n"
        "@nox.session(python=False)\n"
        "def probe(session):\n"
        "    if os.environ.get('PRERELEASE_PROBE') != 'yes': session.error('no PRERELEASE_PROBE')\n"
    )
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    assert prerelease.run_session(nox, "probe", env={"PRERELEASE_PROBE": "yes"}).passed
    assert prerelease.run_session(nox, "probe").reason == "no PRERELEASE_PROBE"


LANES_NOXFILE = """\
import pathlib, time, nox
HERE = pathlib.Path(__file__).parent
def wait_for(name):
    for _ in range(600):  # 30 s: the other lane makes the file well before
        if (HERE / name).exists():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} never came: the lanes did not run side by side")
@nox.session(python=False, tags=["checklist", "every-core"])
def heavy(session):
    print("heavy: started", flush=True)
    (HERE / "heavy-started").touch()
    wait_for("light-done")
    print("heavy: saw the light session end", flush=True)
@nox.session(python=False, tags=["checklist"])
def light(session):
    wait_for("heavy-started")
    for i in range(3):
        print(f"light line {i}", flush=True)
    (HERE / "light-done").touch()
@nox.session(python=False, tags=["checklist"])
def broken(session):
    session.error("broken on purpose")
"""


def test_two_lanes_run_side_by_side_and_each_sessions_output_stays_whole(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The heavy session waits for a file that only the light one writes, and the light one
    for the heavy one's: one after another, one of them would fail."""
    (tmp_path / "noxfile.py").write_text(LANES_NOXFILE)
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    names = prerelease.list_sessions(nox, "checklist")
    every_core = prerelease.list_sessions(nox, "every-core")
    assert (names, every_core) == (["heavy", "light", "broken"], ["heavy"])
    results = prerelease.run_sessions(nox, names, every_core=every_core, lanes=2)
    assert [(r.session, r.result) for r in results] == [
        ("heavy", "success"), ("light", "success"), ("broken", "aborted"),
    ]  # fmt: skip
    assert results[2].reason == "broken on purpose"
    out, err = capfd.readouterr()
    assert "heavy: saw the light session end" in out  # live
    light = err.index("nox > light ran beside: success in ")
    assert err.index("light line 0\nlight line 1\nlight line 2\n") > light  # whole, in order
    assert "nox > broken ran beside: aborted in " in err
    assert err.index("Session heavy was successful") < light  # shown between sessions


def test_one_lane_runs_every_session_in_order_live(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import nox\n"
        "@nox.session(python=False, tags=['checklist', 'every-core'])\n"
        "def heavy(session): print('heavy ran', flush=True)\n"
        "@nox.session(python=False, tags=['checklist'])\n"
        "def light(session): print('light ran', flush=True)\n"
    )
    nox = [sys.executable, "-m", "nox", "--noxfile", str(tmp_path / "noxfile.py")]
    results = prerelease.run_sessions(nox, ["light", "heavy"], every_core=["heavy"], lanes=1)
    assert [(r.session, r.passed) for r in results] == [("light", True), ("heavy", True)]
    out, err = capfd.readouterr()
    assert out.index("light ran") < out.index("heavy ran")
    assert "ran beside" not in err


@pytest.mark.parametrize(
    ("posargs", "cores", "lanes"),
    [([], 2, 2), ([], 1, 1), (["--lanes", "1"], 2, 1), (["--lanes=2"], 1, 2)],
)
def test_lanes_default_to_the_cores_and_the_option_overrides(
    posargs: list[str], cores: int, lanes: int
) -> None:
    assert prerelease.lanes_option(posargs, cores) == lanes


@pytest.mark.parametrize(
    ("posargs", "message"),
    [
        (["--lanes", "3"], "--lanes '3': use --lanes 1"),
        (["--lanes"], "--lanes '': use --lanes 1"),
        (["-x"], "takes --lanes 1 or --lanes 2, not '-x'"),
    ],
)
def test_a_bad_lanes_option_is_one_line(posargs: list[str], message: str) -> None:
    with pytest.raises(prerelease.UsageError, match=re.escape(message)):
        prerelease.lanes_option(posargs, 2)


def test_this_noxfiles_sessions_on_every_core_are_the_pytest_runs() -> None:
    """The sessions beside them install what ``build`` made after it, in one lane: no
    session on every core may need the wheel (it could run before the build)."""
    nox = [sys.executable, "-m", "nox", "--noxfile", str(REPO / "noxfile.py")]
    every_core = prerelease.list_sessions(nox, "every-core")
    versions = ("3.10", "3.11", "3.12", "3.13")
    assert every_core == [*(f"tests-{v}" for v in versions), "e2e"]
    source = (REPO / "noxfile.py").read_text()
    for name in ("tests", "e2e"):
        body = source[source.index(f"def {name}(session") :]
        body = body[: body.index("\n@nox.session")]
        assert "_wheel(" not in body and "_installed_checks(" not in body


def test_checklist_order_builds_before_the_wheel_is_used() -> None:
    nox = [sys.executable, "-m", "nox", "--noxfile", str(REPO / "noxfile.py")]
    names = prerelease.list_sessions(nox, "checklist")
    assert {f"tests-{v}" for v in ("3.10", "3.11", "3.12", "3.13")} <= set(names)
    after_build = names[names.index("build") + 1 :]
    for needs_wheel in ("image", "migrations", "cli", "api", "sample_data", "upgrade"):
        assert needs_wheel in after_build
    assert "prerelease" not in names and "changelog" not in names


def test_missing_wheel_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(prerelease.PrereleaseError, match=r"run `nox -s build` first"):
        prerelease.find_wheel(tmp_path, "market-data-ingestion", "1.2.3")
    dist = tmp_path / prerelease.DIST_DIR
    dist.mkdir(parents=True)
    (dist / "market_data_ingestion-1.2.3-py3-none-any.whl").write_bytes(b"")
    assert prerelease.find_wheel(tmp_path, "market-data-ingestion", "1.2.3").parent == dist


def test_fragment_problems_name_the_file_and_the_valid_types(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.towncrier]\ndirectory = "changelog.d"\n'
        '[[tool.towncrier.type]]\ndirectory = "added"\nname = "Added"\n'
        '[[tool.towncrier.type]]\ndirectory = "fixed"\nname = "Fixed"\n'
    )
    fragments = tmp_path / "changelog.d"
    fragments.mkdir()
    for name in ("README.md", "12.added.md", "12.fixed.2.md", "+slug.added.md", "7.feature.md",
                 "notes.txt"):  # fmt: skip
        (fragments / name).write_text("Fixed a thing for users.\n")
    assert changelog.fragment_problems(tmp_path) == [
        "changelog.d/7.feature.md: unknown fragment type 'feature'; valid types: added, fixed",
        "changelog.d/notes.txt: not a fragment name: use <issue>.<type>.md or "
        "+<slug>.<type>.md with a type among: added, fixed",
    ]


# --- the release to upgrade from ------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed copy of this project with no fragment waiting and no tag yet."""
    from tests.conftest import make_repo

    path = make_repo(tmp_path / "project")
    for fragment in (path / "changelog.d").glob("*.*.md"):
        fragment.unlink()
    return path


def at_version(path: Path, version: str, *tags: str, fragment: str = "") -> ReleaseConfig:
    """*path* with current_version *version*, the *tags* (annotated), and a *fragment* name."""
    if fragment:
        (path / "changelog.d" / fragment).write_text("Changed something for users.\n")
    pyproject = path / "pyproject.toml"
    text = pyproject.read_text()
    current = load_config(path).current_version
    pyproject.write_text(
        text.replace(f'current_version = "{current}"', f'current_version = "{version}"')
    )
    for tag in tags:
        git(path, "tag", "-a", tag, "-m", f"Release {tag}")
    return load_config(path)


def test_previous_is_the_current_version_once_it_is_released(project: Path) -> None:
    """Main after 0.2.0 with 0.3.0 work pending: upgrade from the 0.2.0 in production."""
    config = at_version(project, "0.2.0", "v0.1.0", "v0.2.0", "v0.3.0rc1", fragment="8.added.md")
    assert version_under_test(project, config, [parse_version("0.2.0")]).pep440 == "0.3.0"
    previous, why = find_previous(project, config, None)
    assert previous is not None and previous.version.pep440 == "0.2.0" and why == ""
    assert str(previous) == "0.2.0 (built from its git tag)"
    assert not is_first_release(Git(project), config)


def test_a_released_version_without_fragments_is_tested_as_its_patch(project: Path) -> None:
    config = at_version(project, "0.2.0", "v0.2.0", "v0.2.1")
    assert version_under_test(project, config, [parse_version("0.2.0")]).pep440 == "0.2.1"
    previous, _ = find_previous(project, config, None)
    assert previous is not None and previous.version.pep440 == "0.2.0"  # 0.2.1 is not below


def test_previous_is_below_the_current_version_before_it_is_released(project: Path) -> None:
    config = at_version(project, "0.3.0", "v0.1.0", "v0.2.0", "v0.3.0rc1", "v0.4.0")
    assert version_under_test(project, config, []).pep440 == "0.3.0"
    previous, _ = find_previous(project, config, None)
    assert previous is not None and previous.version.pep440 == "0.2.0"  # stable, below 0.3.0


@pytest.mark.parametrize("tags", [(), ("v0.2.0rc1", "rollback-v0.1.0")])
def test_no_stable_release_before_is_a_first_release(project: Path, tags: tuple[str, ...]) -> None:
    config = at_version(project, "0.2.0", *tags)
    previous, why = find_previous(project, config, None)
    assert previous is None
    assert why.startswith("no release is tagged before 0.2.0 (v* stable)")
    assert "--allow-first-release" not in why  # the session adds how to pass
    assert is_first_release(Git(project), config)


def test_previous_from_an_index_skips_yanked_and_pre_releases(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_engine.remotes import index

    wheel = "market_data_ingestion-{}-py3-none-any.whl"
    files = [
        index.ServedFile(wheel.format("0.1.0"), "0" * 64),
        index.ServedFile(wheel.format("0.2.0"), "0" * 64, yanked=True),
        index.ServedFile(wheel.format("0.2.1"), "0" * 64),
        index.ServedFile(wheel.format("0.3.0rc1"), "0" * 64),
        index.ServedFile("market_data_ingestion-0.2.1.tar.gz", "0" * 64),
    ]
    monkeypatch.setattr(index, "served", lambda url, package, **_: files)
    url = "https://user:secret@index.example/simple/"
    config = at_version(project, "0.2.1", fragment="9.fixed.md")  # served, so released
    previous, _ = find_previous(project, config, url)
    assert previous is not None and previous.version.pep440 == "0.2.1"
    assert previous.filename == wheel.format("0.2.1") and "secret" not in str(previous)
    del files[:3]  # only a pre-release and an sdist are left
    config = at_version(project, "0.3.0")
    previous, why = find_previous(project, config, url)
    assert previous is None and why.startswith("https://")
    assert "holds no stable market-data-ingestion wheel before 0.3.0" in why
    assert "secret" not in why
