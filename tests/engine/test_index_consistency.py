"""The index as PyPI behaves: its simple pages lag behind an upload (a CDN keeps the page served
before it, or a new project's 404, for a while), and a file of a name it holds is refused (or,
for the very same bytes, taken again). The upload waits for the index, with a bound, and judges
a refusal by the sha256 the index serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.engine import release
from release_engine.errors import ConflictError, ReleaseError
from release_engine.output import ConsoleReporter
from release_engine.proc import run
from release_engine.rehearsal import StandIns, clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes import index
from release_engine.standins.pypi import PackageIndexStandIn
from release_engine.version import parse_version
from tests.engine.conftest import VERSION
from tests.engine.test_index import PROJECT, make_sdist, make_wheel

PAGE = "/simple/market-data-ingestion/"


@pytest.fixture
def standins(tmp_path: Path, clean_env: None) -> Iterator[StandIns]:
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        yield s


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[PackageIndexStandIn]:
    with PackageIndexStandIn(tmp_path / "index") as server:
        yield server


@pytest.fixture
def dists(tmp_path: Path) -> list[Path]:
    (tmp_path / "dist").mkdir()
    return [make_sdist(tmp_path / "dist", "0.1.0"), make_wheel(tmp_path / "dist", "0.1.0")]


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- the wait, on its own --------------------------------------------------------------------


def test_the_wait_backs_off_and_ends_when_every_file_is_served(dists: list[Path]) -> None:
    local = {p: index.sha256_of(p) for p in dists}
    pages = [{}, {dists[0].name: local[dists[0]]}, {}, {p.name: sha for p, sha in local.items()}]
    lines: list[str] = []
    clock = Clock()
    served = index.await_served(
        lambda: pages.pop(0), local, bound=60, progress=lines.append, sleep=clock.sleep, clock=clock
    )
    assert served == {p.name: sha for p, sha in local.items()} and pages == []
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert lines[0] == (
        f"the package index does not serve {dists[1].name}, {dists[0].name} yet; asking again "
        "in 0.5 s (0 of 60 s)"
    )  # in the order of their names, as plan_uploads sorts them
    assert lines[1].startswith(f"the package index does not serve {dists[1].name} yet")


def test_the_wait_is_bounded_and_fails_with_one_line(dists: list[Path]) -> None:
    local = {p: index.sha256_of(p) for p in dists}
    clock, lines = Clock(), []
    with pytest.raises(ReleaseError) as caught:
        index.await_served(
            dict, local, bound=20, progress=lines.append, sleep=clock.sleep, clock=clock
        )
    assert clock.sleeps == [0.5, 1, 2, 4, 8, 4.5] and sum(clock.sleeps) == 20
    assert len(lines) == 6 and str(caught.value) == (
        f"the package index still does not serve {dists[1].name}, {dists[0].name} 20 s after the "
        "upload: its pages lag behind (PyPI's come through a CDN); look at the project's page "
        "on the index, and resume once it shows them"
    )


def test_other_bytes_end_the_wait_as_a_conflict(dists: list[Path]) -> None:
    local = {p: index.sha256_of(p) for p in dists}
    clock = Clock()
    with pytest.raises(ConflictError, match=r"with other bytes than this build.*bump the version"):
        index.await_served(
            lambda: {dists[1].name: "0" * 64}, local, bound=60, progress=print, sleep=clock.sleep
        )
    assert clock.sleeps == []


# --- the stand-in's lag ----------------------------------------------------------------------


def test_the_index_serves_its_old_page_for_n_requests_after_an_upload(
    pypi: PackageIndexStandIn, dists: list[Path]
) -> None:
    pypi.lag(3)
    assert index.served_files(pypi.simple_url, PROJECT) == {}  # a 404 the "CDN" now holds
    upload = index.upload_command(
        dists, repository_url=pypi.upload_url, username=pypi.username, password=pypi.password
    )
    run(upload)
    seen = [index.served_files(pypi.simple_url, PROJECT) for _ in range(5)]
    everything = {p.name: index.sha256_of(p) for p in dists}
    assert seen == [{}, {}, {}, everything, everything]
    assert pypi.count("GET", PAGE) == 6 and pypi.count("POST", "/") == 2


# --- the release ------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_release_waits_for_a_lagging_index_and_verifies(
    source_repo: Path,
    tmp_path: Path,
    standins: StandIns,
    capfd: pytest.CaptureFixture[str],
) -> None:
    standins.index.lag(3)
    ctx = rehearsal_context(
        clone_for_rehearsal(source_repo, tmp_path), parse_version(VERSION), standins
    )
    report = release(ctx, ConsoleReporter())
    assert {s.name: s.status.value for s in report.steps}["upload"] == "acted"
    out, err = capfd.readouterr()
    waits = [line for line in (out + err).splitlines() if "does not serve" in line]
    assert len(waits) == 3 and "asking again in 0.5 s" in waits[0]
    assert standins.index.uploads == 2  # each file uploaded once (the preflight's probe sends none)
    built = {p.name: index.sha256_of(p) for p in ctx.dist_dir.iterdir()}
    assert index.served_files(standins.index.simple_url, PROJECT) == built


@pytest.mark.e2e
def test_a_lag_beyond_the_bound_fails_and_the_rerun_takes_the_same_bytes_again(
    source_repo: Path, tmp_path: Path, standins: StandIns
) -> None:
    standins.index.lag(10_000)
    work = clone_for_rehearsal(source_repo, tmp_path)
    ctx = rehearsal_context(work, parse_version(VERSION), standins)
    ctx.index_patience = 2.0
    with pytest.raises(ReleaseError) as caught:
        release(ctx, ConsoleReporter())
    names = sorted(p.name for p in ctx.dist_dir.iterdir())
    assert str(caught.value).splitlines() == [
        f"the package index still does not serve {', '.join(names)} 2 s after the upload: its "
        "pages lag behind (PyPI's come through a CDN); look at the project's page on the index, "
        "and resume once it shows them",
        f"Publish to the package index failed; fix the cause above, then resume with: inv "
        f"release --version {VERSION} --rehearse",
    ]
    assert "bump" not in str(caught.value)
    on_disk = {p.name: p.stat().st_mtime_ns for p in standins.index.packages.iterdir()}
    assert sorted(on_disk) == names

    # The rerun still finds the old page: it uploads both files again, the index refuses
    # each name it holds (pypiserver's 409; PyPI answers 200 to the same bytes), and the
    # sha256 it serves once it has caught up says they are this build's: a success.
    standins.index.lag(4)
    rerun = rehearsal_context(work, parse_version(VERSION), standins)
    report = release(rerun, ConsoleReporter())
    assert {s.name: s.status.value for s in report.steps}["upload"] == "acted"
    assert standins.index.uploads == 4
    assert {p.name: p.stat().st_mtime_ns for p in standins.index.packages.iterdir()} == on_disk
    built = {p.name: index.sha256_of(p) for p in rerun.dist_dir.iterdir()}
    assert index.served_files(standins.index.simple_url, PROJECT) == built
