"""The whole release, for real, through the rehearsal stand-ins; checked from outside."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from release_engine import index
from release_engine.changelog import extract_section
from release_engine.context import Options
from release_engine.engine import Report, release
from release_engine.output import ConsoleReporter
from release_engine.rehearsal import StandIns, clone_for_rehearsal, rehearsal_context, stand_ins
from tests.conftest import git, in_ci

pytestmark = pytest.mark.e2e
VERSION = "0.2.0"
VERSION_LABEL = "org.opencontainers.image.version"


@dataclass
class Rehearsal:
    work: Path
    remote: Path
    s: StandIns

    def run(self, version: str = VERSION, **kwargs: object) -> Report:
        ctx = rehearsal_context(self.work, version, self.s, options=Options())
        return release(ctx, ConsoleReporter(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real registry for a module; each test pushes under its own namespace."""
    from release_engine.container import detect_engine

    if detect_engine() is None:
        if in_ci():
            pytest.fail("CI must run the container steps: no container engine found")
        yield None
        return
    from release_engine.standins.registry import RegistryStandIn

    with RegistryStandIn(tmp_path_factory.mktemp("registry")) as registry:
        yield registry
    remove_images(registry.url)


@pytest.fixture
def rehearsal(source_repo: Path, tmp_path: Path, clean_env: None, shared_registry: Any,
              request: pytest.FixtureRequest) -> Iterator[Rehearsal]:
    namespace = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[-60:]
    with stand_ins(tmp_path / "standins", registry=shared_registry,
                   with_registry=shared_registry is not None,
                   image_namespace=f"{namespace.strip('-')}/") as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        yield Rehearsal(work, tmp_path / "remote.git", s)


def remove_images(prefix: str) -> None:
    from release_engine.container import detect_engine

    engine = detect_engine()
    if engine in ("podman", "buildah"):
        listed = subprocess.run([engine, "images", "--format", "{{.Repository}}:{{.Tag}}"],
                                capture_output=True, text=True, check=False).stdout.split()
        refs = [r for r in listed if r.startswith(prefix)]
        if refs:
            subprocess.run([engine, "rmi", "--force", *refs], capture_output=True, check=False)


def github_get(s: StandIns, path: str) -> list[dict[str, Any]]:
    """Read the GitHub stand-in from outside, as any API client would."""
    request = urllib.request.Request(f"{s.github.url}/repos/{s.github.repository}{path}",
                                     headers={"Authorization": f"Bearer {s.github.token}",
                                              "Accept": "application/vnd.github+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        data: list[dict[str, Any]] = json.loads(response.read())
    return data


def published_state(r: Rehearsal, version: str = VERSION) -> dict[str, object]:
    """Everything the release published, read back from the stand-ins and the remote."""
    tag = f"v{version}"
    remote = r.remote
    state: dict[str, object] = {
        "tag_type": git(remote, "cat-file", "-t", tag),
        "tag_message": git(remote, "tag", "-l", "--format=%(contents:subject)", tag),
        "tag_subject": git(remote, "log", "-1", "--format=%s", f"{tag}^{{commit}}"),
        "tag_tree": git(remote, "rev-parse", f"{tag}^{{tree}}"),
        "main_tree": git(remote, "rev-parse", "main^{tree}"),
        "merges": git(remote, "log", "--merges", "--format=%s", "main"),
        "main_contains_tag": subprocess.run(
            ["git", "merge-base", "--is-ancestor", tag, "main"], cwd=remote).returncode == 0,
        "branches": sorted(git(remote, "branch", "--format=%(refname:short)").split()),
        "manifest": git(remote, "show", "main:deploy/k8s/deployment.yaml"),
        "init": git(remote, "show", "main:src/market_data_ingestion/__init__.py"),
    }
    changelog = git(remote, "show", f"{tag}:CHANGELOG.md")
    state["section"] = extract_section(changelog, version)
    state["served"] = sorted(index.served_files(r.s.index.simple_url, "market-data-ingestion"))
    state["release_bodies"] = [rel["body"] for rel in github_get(r.s, "/releases")]
    state["release_posts"] = r.s.github.count("POST", "/repos/rehearsal/release/releases")
    state["notifications"] = len(r.s.sink.received)
    state["packages_on_disk"] = sorted(p.name for p in r.s.index.packages.iterdir())
    if r.s.registry is not None:
        from release_engine.container import RegistryClient

        client = RegistryClient(f"http://{r.s.registry.url}", r.s.registry.username,
                                r.s.registry.password)
        repository = f"{r.s.image_namespace}market-data-ingestion"
        state["image_tags"] = sorted(client.tags(repository))
        digests = {t: client.manifest_digest(repository, t) for t in (tag, "latest")}
        state["one_digest"] = digests[tag] is not None and digests[tag] == digests["latest"]
        state["image_label"] = client.config_labels(repository, tag)[VERSION_LABEL]
    return state


def test_release_publishes_everything_and_a_rerun_verifies_it(rehearsal: Rehearsal) -> None:
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
    assert report.release["body"] == section
    assert state["notifications"] == 1
    built = {a["filename"]: a["sha256"] for a in report.artifacts}
    assert sorted(built) == state["served"] == [
        f"market_data_ingestion-{VERSION}-py3-none-any.whl",
        f"market_data_ingestion-{VERSION}.tar.gz"]
    for artifact in report.artifacts:
        assert artifact["served_sha256"] == artifact["sha256"]
    if rehearsal.s.registry is not None:
        assert state["image_tags"] == ["latest", f"v{VERSION}"]
        assert state["one_digest"]
        assert state["image_label"] == VERSION
        assert f"market-data-ingestion:v{VERSION}" in str(state["manifest"])
        assert [i["digest"] for i in report.images][0] is not None
    statuses = {o.name: o.status for o in report.steps}
    assert set(statuses.values()) <= {"acted", "skipped"}

    again = rehearsal.run()
    assert again.already_released
    assert {o.status for o in again.steps} <= {"done", "skipped"}
    assert published_state(rehearsal) == state  # nothing published twice


def test_dry_run_changes_nothing_anywhere(rehearsal: Rehearsal,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    def world() -> tuple[object, ...]:
        work, remote = rehearsal.work, rehearsal.remote
        registry = None
        if rehearsal.s.registry is not None:
            from release_engine.container import RegistryClient

            registry = RegistryClient(f"http://{rehearsal.s.registry.url}",
                                      rehearsal.s.registry.username,
                                      rehearsal.s.registry.password).tags(
                f"{rehearsal.s.image_namespace}market-data-ingestion")
        # git's own index refreshes stat data on every status; everything else must stay.
        files = sorted((p.relative_to(work).as_posix(), p.stat().st_mtime_ns)
                       for p in work.rglob("*") if p.is_file()
                       and p.name not in ("release.lock", "index"))
        return (git(work, "show-ref"), git(work, "status", "--porcelain"),
                git(work, "rev-parse", "--abbrev-ref", "HEAD"), git(remote, "show-ref"), files,
                sorted(p.name for p in rehearsal.s.index.packages.iterdir()), registry,
                github_get(rehearsal.s, "/releases"), len(rehearsal.s.sink.received))

    before = world()
    report = rehearsal.run(dry_run=True)
    assert world() == before
    out = capsys.readouterr().out
    assert "would run: git checkout -b release/v0.2.0 main" in out
    assert "would run: git push --atomic origin" in out
    assert "twine upload" in out
    assert {o.status for o in report.steps} <= {"would-run", "skipped"}
    writes = [m for m, _ in rehearsal.s.github.requests if m in ("POST", "PATCH", "PUT")]
    assert writes == []


def test_json_report_is_one_object_with_steps_hashes_and_digests(
        source_repo: Path, tmp_path: Path, clean_env: None) -> None:
    from tests.engine.test_readme import rehearsal_argv

    proc = subprocess.run(
        [*rehearsal_argv(), "--json"],  # README's first command, as a newcomer runs it
        cwd=source_repo, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["rehearsal"] is True
    assert [s["name"] for s in data["steps"]][:5] == ["branch", "bump", "changelog", "commit", "tag"]
    assert all({"name", "status"} <= set(s) for s in data["steps"])
    assert all(len(a["sha256"]) == 64 for a in data["artifacts"])
    assert all(a["sha256"] == a["served_sha256"] for a in data["artifacts"])
    if not in_ci() and not data["images"]:
        pytest.skip("no container engine here")
    assert all(i["digest"].startswith("sha256:") for i in data["images"])
    assert git(source_repo, "tag", "--list") == ""  # the user's repository is untouched
