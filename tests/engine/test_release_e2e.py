"""The whole release, for real, through the rehearsal stand-ins; checked from outside."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, in_ci
from tests.engine.conftest import VERSION, Rehearsal, github_get, published_state, registry_of
from tests.engine.sbom_checks import (
    assert_image_sbom,
    assert_verify_passes_then_names_a_changed_byte,
)

pytestmark = pytest.mark.e2e


def test_release_publishes_everything_and_a_rerun_verifies_it(rehearsal: Rehearsal) -> None:
    rehearsal.add_fragment("+e2e.added.md", "Added `inv release --version X.Y.Z`, end to end.")
    report = rehearsal.run()
    state = published_state(rehearsal)

    assert state["tag_type"] == "tag"
    assert state["tag_message"] == f"Release version {VERSION}"
    assert state["tag_subject"] == f"Release v{VERSION}"
    assert f"Merge release/v{VERSION} into main" in str(state["merges"])
    assert state["main_contains_tag"]
    assert f"release/v{VERSION}" in state["branches"]  # type: ignore[operator]
    assert f'__version__ = "{VERSION}"' in str(state["init"])
    section = state["section"]
    assert isinstance(section, str) and "### Added" in section
    assert "inv release --version X.Y.Z" in section
    assert report.changelog == section
    assert state["release_bodies"] == [section]
    assert state["release_posts"] == 1
    assert report.release is not None and report.release.body == section
    assert state["notifications"] == 1
    built = {a.filename: a.sha256 for a in report.artifacts}
    assert (
        sorted(built)
        == state["served"]
        == [
            f"market_data_ingestion-{VERSION}-py3-none-any.whl",
            f"market_data_ingestion-{VERSION}.tar.gz",
        ]
    )
    for artifact in report.artifacts:
        assert artifact.served_sha256 == artifact.sha256
    if rehearsal.s.registry is not None:
        assert state["image_tags"] == ["latest", "sha256-<digest>.sbom", f"v{VERSION}"]
        assert state["one_digest"]
        assert state["image_label"] == VERSION
        # published_state puts the pushed image's name (this registry, this namespace) aside
        assert f"image: <the pushed image>:v{VERSION}\n" in str(state["manifest"])
        assert next(i.digest for i in report.images) is not None
        assert_image_sbom(rehearsal)
    statuses = {o.name: o.status for o in report.steps}
    assert set(statuses.values()) <= {"acted", "skipped"}

    again = rehearsal.run()
    assert again.already_released
    assert {o.status for o in again.steps} <= {"done", "skipped"}
    assert published_state(rehearsal) == state  # nothing published twice
    assert_verify_passes_then_names_a_changed_byte(rehearsal)  # last: it changes the index


def test_dry_run_changes_nothing_anywhere(
    rehearsal: Rehearsal, capsys: pytest.CaptureFixture[str]
) -> None:
    def world() -> tuple[object, ...]:
        work, remote = rehearsal.work, rehearsal.remote
        registry = None
        if rehearsal.s.registry is not None:
            with registry_of(rehearsal) as outside:
                registry = outside.tags()
        # git's own index refreshes stat data on every status; everything else must stay.
        files = sorted(
            (p.relative_to(work).as_posix(), p.stat().st_mtime_ns)
            for p in work.rglob("*")
            if p.is_file() and p.name not in ("release.lock", "index")
        )
        return (
            git(work, "show-ref"),
            git(work, "status", "--porcelain"),
            git(work, "rev-parse", "--abbrev-ref", "HEAD"),
            git(remote, "show-ref"),
            files,
            sorted(p.name for p in rehearsal.s.index.packages.iterdir()),
            registry,
            github_get(rehearsal.s, "/releases"),
            len(rehearsal.s.slack.received),
        )

    before = world()
    report = rehearsal.run(dry_run=True)
    assert world() == before
    out = capsys.readouterr().out
    assert f"would run: git checkout --quiet -b release/v{VERSION} main" in out
    assert "would run: git push --quiet --atomic origin" in out
    assert "-m twine --no-color upload" in out
    assert {o.status for o in report.steps} <= {"would-run", "skipped"}
    writes = [m for m, _ in rehearsal.s.github.requests if m in ("POST", "PATCH", "PUT")]
    assert writes == []


def test_json_report_is_one_object_with_steps_hashes_and_digests(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    from tests.engine.test_readme import rehearsal_argv

    proc = subprocess.run(
        [*rehearsal_argv(), "--json"],  # README's first command, as a newcomer runs it
        cwd=source_repo,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["rehearsal"] is True
    assert [s["name"] for s in data["steps"]][:5] == [
        "branch",
        "bump",
        "changelog",
        "commit",
        "tag",
    ]
    assert all({"name", "status"} <= set(s) for s in data["steps"])
    assert all(len(a["sha256"]) == 64 for a in data["artifacts"])
    assert all(a["sha256"] == a["served_sha256"] for a in data["artifacts"])
    if not in_ci() and not data["images"]:
        pytest.skip("no container engine here")
    assert all(i["digest"].startswith("sha256:") for i in data["images"])
    assert git(source_repo, "tag", "--list") == ""  # the user's repository is untouched


#: The project's own suite that needs no stand-ins: what a released tree must still pass
#: (tests/engine/test_lifecycle.py runs it in main's tree after every release of a life).
RELEASED_SUITE = (
    "tests/payload",
    "tests/engine/test_version_files.py",
    "tests/engine/test_preflight.py",
    "tests/engine/test_cadence.py",
)
