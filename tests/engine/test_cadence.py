"""Release after release: the suggestion rule, and ``release.status`` without a version."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_engine import cadence, cli
from release_engine.cadence import Latest, bump_for, count_fragments, newest_served, next_version
from release_engine.config import Credentials, Setting, load_config
from release_engine.engine import open_release
from release_engine.redact import Secrets
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context
from release_engine.version import Version, parse_version
from tests.conftest import NOT_FRAGMENTS, REPO, git
from tests.engine.conftest import VERSION, Rehearsal

SCHEMA = json.loads((REPO / "docs" / "release-report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CLOSED = "http://127.0.0.1:9/simple/"  # nothing listens on the discard port
UNREACHABLE = {"index_simple_url": CLOSED, "image": "", "github_repository": ""}
PROJECT = "market-data-ingestion"

versions = st.builds(
    Version,
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 5)),
)
kinds = st.sampled_from(["added", "changed", "deprecated", "removed", "fixed", "security"])


@pytest.mark.parametrize(
    ("counts", "current", "bump"),
    [
        ({"removed": 1, "fixed": 3}, "1.4.2", "major"),
        ({"removed": 1}, "0.4.2", "minor"),  # below 1.0.0 a breaking change is minor
        ({"added": 1, "fixed": 1}, "1.4.2", "minor"),
        ({"deprecated": 2}, "0.1.0", "minor"),
        ({"fixed": 1, "changed": 1, "security": 1}, "1.4.2", "patch"),
        ({}, "1.4.2", None),
        ({"added": 0}, "1.4.2", None),
    ],
)
def test_bump_for_the_waiting_fragments(
    counts: dict[str, int], current: str, bump: str | None
) -> None:
    assert bump_for(counts, parse_version(current)) == bump


@pytest.mark.parametrize(
    ("current", "bump", "expected"),
    [
        ("1.4.2", "major", "2.0.0"),
        ("1.4.2", "minor", "1.5.0"),
        ("1.4.2", "patch", "1.4.3"),
        ("1.1.0rc1", "minor", "1.1.0"),
        ("1.1.0rc1", "major", "2.0.0"),
        ("1.1.1rc1", "patch", "1.1.1"),
        ("2.0.0b1", "major", "2.0.0"),
    ],
)
def test_next_version(current: str, bump: Any, expected: str) -> None:
    assert next_version(parse_version(current), bump).pep440 == expected


@given(versions, st.sampled_from(["major", "minor", "patch"]))
def test_next_version_is_a_newer_stable_release(current: Version, bump: Any) -> None:
    after = next_version(current, bump)
    assert after > current and not after.is_prerelease
    assert after == parse_version(after.pep440)


@given(versions, st.dictionaries(kinds, st.integers(0, 3)))
def test_a_breaking_change_never_suggests_less_than_a_feature(
    current: Version, counts: dict[str, int]
) -> None:
    bump = bump_for(counts, current)
    assert (bump is None) == (sum(counts.values()) == 0)
    if counts.get("removed"):
        assert bump == ("major" if current.major >= 1 else "minor")
    elif counts.get("added") or counts.get("deprecated"):
        assert bump == "minor"


def test_count_fragments_by_type() -> None:
    names = ["8.added.md", "+x.added.1.md", "9.fixed.md", "README.md", "bad.md", "7.removed.txt"]
    assert count_fragments(names) == {"added": 2, "fixed": 1}


def test_newest_served_is_the_newest_stable_release_of_the_package() -> None:
    names = [
        "market_data_ingestion-0.2.0-py3-none-any.whl",
        "market_data_ingestion-0.10.0.tar.gz",
        "market_data_ingestion-1.0.0rc1-py3-none-any.whl",
        "other_project-9.0.0-py3-none-any.whl",
        "market_data_ingestion-0.11.0.exe",
        "notes.txt",
        "market_data_ingestion-0.12.0.post1-py3-none-any.whl",  # not a release version here
    ]
    assert newest_served(names, PROJECT) == parse_version("0.10.0")
    assert newest_served([], PROJECT) is None


def test_latest_describes_unknown_none_and_found() -> None:
    assert Latest(error="registry down").describe() == "unknown (registry down)"
    assert Latest().describe() == "none yet"
    assert Latest("0.2.0", "sha256:ab").describe() == "0.2.0 (sha256:ab)"
    assert Latest(None, "sha256:ab").describe() == "no version label (sha256:ab)"


@pytest.fixture
def work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    return clone_for_rehearsal(source_repo, tmp_path)


def tag_release(work: Path, version: str, date: str) -> None:
    """An empty commit made (and committed) on *date*, tagged as release *version*."""
    when = f"{date}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    argv = ["git", "commit", "-q", "--no-verify", "--allow-empty", "-m", f"Release {version}"]
    subprocess.run(argv, cwd=work, env=env, check=True)
    git(work, "tag", "-a", f"v{version}", "-m", f"Release version {version}")


def test_observe_a_repository_whose_remotes_cannot_be_read(work: Path) -> None:
    current = parse_version(load_config(work).current_version)
    for name in (work / "changelog.d").iterdir():
        if name.name not in NOT_FRAGMENTS:
            name.unlink()
    (work / "changelog.d" / "1.fixed.md").write_text("Fixed one thing.\n")
    (work / "changelog.d" / "2.fixed.md").write_text("Fixed another thing.\n")
    tag_release(work, current.pep440, "2026-01-10")
    tag_release(work, "99.0.0rc1", "2026-01-20")  # a pre-release is not the last release
    ctx = open_release(work, current, overrides=UNREACHABLE, credentials=Credentials())
    seen = cadence.observe(ctx, today=dt.date(2026, 1, 31))
    assert (seen.last_release, seen.last_date, seen.days_since) == (
        current,
        dt.date(2026, 1, 10),
        21,
    )
    assert seen.fragments == {"fixed": 2} and seen.bump == "patch"
    assert seen.suggested == next_version(current, "patch")
    assert seen.latest["github"].describe() == "unknown (no GitHub repository configured)"
    assert seen.latest["registry"].describe() == "unknown (no image configured in [tool.release])"
    assert seen.latest["index"].describe().startswith("unknown (could not reach the package")


def test_observe_before_the_first_release_suggests_above_the_current_version(work: Path) -> None:
    current = parse_version(load_config(work).current_version)
    (work / "changelog.d" / "3.deprecated.md").write_text("Deprecated an old thing.\n")
    ctx = open_release(work, current, overrides=UNREACHABLE, credentials=Credentials())
    seen = cadence.observe(ctx)
    assert seen.last_release is None and seen.days_since is None
    assert seen.suggested is not None and seen.suggested >= next_version(current, "minor")
    assert seen.as_dict()["last_release"] is None
    token = open_release(work, current, overrides={**UNREACHABLE, "github_repository": "o/r"})
    assert cadence.observe(token).latest["github"].error == "GITHUB_TOKEN is not set"


def test_an_unreachable_registry_is_unknown_not_a_traceback(work: Path) -> None:
    current = parse_version(load_config(work).current_version)
    overrides: dict[str, Setting] = {**UNREACHABLE, "image": "127.0.0.1:9/ns/mdi"}
    overrides["registry_tls_verify"] = False
    ctx = open_release(work, current, overrides=overrides, credentials=Credentials())
    seen = cadence.observe(ctx).latest["registry"]
    assert seen.error is not None and "127.0.0.1:9" in seen.error, seen


def test_status_without_a_version_shows_the_cadence_before_the_steps(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [f"{key}={value}" for key, value in UNREACHABLE.items()]
    cli.status_command(work, None, secrets=Secrets(), overrides=flags)
    out = capsys.readouterr().out
    assert out.index("last release: none yet") < out.index("suggested next version:")
    assert out.index("latest GitHub release: unknown (") < out.index("Create release branch")
    assert "latest index: unknown (could not reach the package index" in out
    assert "Traceback" not in out

    cli.status_command(work, None, secrets=Secrets(), overrides=flags, as_json=True)
    data = json.loads(capsys.readouterr().out)
    VALIDATOR.validate(data)
    # Nothing released yet: the step table describes the version the cadence suggests.
    assert data["version"] == data["cadence"]["suggested_version"]
    assert data["cadence"]["last_release"] is None
    assert data["cadence"]["latest"]["index"]["error"].startswith("could not reach")

    cli.status_command(work, VERSION, secrets=Secrets(), overrides=flags, as_json=True)
    assert "cadence" not in json.loads(capsys.readouterr().out)  # asked about one version


@pytest.mark.e2e
def test_after_a_release_every_remote_points_latest_at_it(rehearsal: Rehearsal) -> None:
    rehearsal.run(VERSION)
    ctx = rehearsal_context(rehearsal.work, parse_version(VERSION), rehearsal.s)
    seen = cadence.observe(ctx)
    assert seen.last_release == parse_version(VERSION) and seen.days_since in (0, 1)
    assert seen.fragments == {} and seen.suggested is None
    assert seen.latest["github"] == Latest(f"v{VERSION}")
    assert seen.latest["index"] == Latest(VERSION)
    if rehearsal.s.registry is not None:
        registry = seen.latest["registry"]
        assert registry.value == VERSION and registry.digest is not None, registry
    data: dict[str, Any] = {"cadence": seen.as_dict()}
    VALIDATOR.validate({**status_of(), **data})


def status_of() -> dict[str, Any]:
    from release_engine.report import status_dict

    return status_dict("1.0.0", "v1.0.0", [])


def test_print_cadence_says_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    from release_engine.output import print_cadence

    seen = cadence.Cadence(
        parse_version("1.2.3"),
        dt.date(2026, 1, 10),
        dt.date(2026, 1, 11),
        {"added": 1, "fixed": 2},
        "minor",
        parse_version("1.3.0"),
        {"registry": Latest("1.2.3", "sha256:ab"), "index": Latest(error="index down")},
    )
    print_cadence(seen)
    assert capsys.readouterr().out.splitlines() == [
        "last release: 1.2.3 on 2026-01-10 (1 day ago)",
        "unreleased fragments: 1 added, 2 fixed",
        "suggested next version: 1.3.0 (minor)",
        "latest registry image: 1.2.3 (sha256:ab)",
        "latest index: unknown (index down)",
    ]


def test_an_os_error_reading_a_remote_is_unknown_too(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_engine.remotes import index

    def broken(*args: object, **kwargs: object) -> list[index.ServedFile]:
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(index, "served", broken)
    current = parse_version(load_config(work).current_version)
    overrides: dict[str, Setting] = {**UNREACHABLE, "index_simple_url": "http://index.test/simple/"}
    ctx = open_release(work, current, overrides=overrides, credentials=Credentials())
    assert cadence.observe(ctx).latest["index"] == Latest(error="connection reset by peer")
