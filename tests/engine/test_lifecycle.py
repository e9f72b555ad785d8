"""Release after release, through the stand-ins, checked from outside after every step.

VERSION → AFTER → hotfix HOTFIX (of VERSION's line) → THIRD → rollback of THIRD → FOURTH
(0.2.0 → 0.3.0 → 0.2.1 → 0.3.1 → rollback of 0.3.1 → 0.3.2 for a project at 0.1.0). After each:
main's tree and CHANGELOG, the tags, the index, every image digest and ``latest``, GitHub's
releases and which is latest, the manifests, the messages and emails received, the status
output (the cadence and every step's row: true at each point, before the first release and
for the rolled-back version too), and the project's own suite run in main's tree.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from release_engine import cadence
from release_engine.cadence import next_version
from release_engine.cli import hotfix_command
from release_engine.config import load_config
from release_engine.engine import status
from release_engine.errors import ConflictError, PreflightError
from release_engine.output import print_cadence, print_steps
from release_engine.plan import Outcome, Status
from release_engine.rehearsal import rehearsal_context
from release_engine.remotes import index
from release_engine.tools import keepachangelog
from release_engine.tools.changelog import extract_section
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import (
    AFTER,
    HOTFIX,
    VERSION,
    VERSION_LABEL,
    Rehearsal,
    github_get,
    registry_of,
)
from tests.engine.test_release_e2e import RELEASED_SUITE

pytestmark = pytest.mark.e2e

THIRD = next_version(parse_version(AFTER), "patch").pep440
FOURTH = next_version(parse_version(THIRD), "patch").pep440
PACKAGE = "market-data-ingestion"


def change(r: Rehearsal, name: str, kind: str, text: str) -> None:
    """Commit a change with its fragment on the branch checked out, and push it."""
    folder = r.work / "lifecycle"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(f"{text}\n")
    (r.work / "changelog.d" / f"+{name}.{kind}.md").write_text(f"{text}\n")
    if kind != "fixed":  # news is documented, or the preflight refuses the release
        (r.work / "docs" / f"lifecycle-{name}.md").write_text(f"# {name}\n\n{text}\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", text)
    branch = git(r.work, "rev-parse", "--abbrev-ref", "HEAD")
    git(r.work, "push", "-q", "origin", branch)


@dataclass
class Expected:
    """What the world must show at one point of the project's life."""

    released: list[str]  # every version released, in any order
    latest: str
    main_version: str
    on_main: set[str]  # lifecycle/*.txt main has
    yanked: set[str] = field(default_factory=set)
    notifications: int = 0
    emails: int = 0
    deployed: str = ""  # the image tag the manifests name: v<latest> unless a rollback's


#: The whole non-e2e suite, as `nox -s tests` runs it, for main's tree at the end of the life.
WHOLE_SUITE = ("tests", "--ignore=tests/installed", "--ignore=tests/prerelease", "-n", "2")


class Suites:
    """The project's own suite in main's tree at each point, run while the life goes on: the
    tests that read the project's version, changelog and files at every point, the whole
    non-e2e suite at the end (*whole*), when main has been through everything."""

    def __init__(self, r: Rehearsal) -> None:
        self.r, self.running = r, []  # type: list[tuple[str, subprocess.Popen[str]]]

    def start(self, label: str, *, whole: bool = False) -> None:
        tree = self.r.work.parent / f"main-after-{label}"
        git(self.r.work.parent, "clone", "-q", "--branch", "main", str(self.r.remote), str(tree))
        env = {k: v for k, v in os.environ.items() if k != "MDI_TEST_POSTGRES_URL"}
        env |= {"PYTHONPATH": "src", "CI": ""}
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        argv += WHOLE_SUITE if whole else RELEASED_SUITE
        proc = subprocess.Popen(
            [*argv, "-m", "not e2e and not container"],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.running.append((label, proc))

    def check(self) -> None:
        for label, proc in self.running:
            out, _ = proc.communicate(timeout=1800)
            assert proc.returncode == 0, f"main's own suite after {label}:\n{out[-4000:]}"
            assert " passed" in out and " failed" not in out, label


def described(r: Rehearsal) -> str:
    """The version ``inv release.status`` describes without ``--version``."""
    config = load_config(r.work)
    current = parse_version(config.current_version)
    return cadence.described_release(r.work, current, config.tag_prefix).pep440


def status_text(r: Rehearsal) -> str:
    """``inv release.status`` as the maintainer reads it: cadence, then the step table."""
    version = described(r)
    ctx = rehearsal_context(r.work, parse_version(version), r.s)
    out = io.StringIO()
    print_cadence(cadence.observe(ctx), out, secrets=ctx.secrets)
    print_steps(status(ctx), f"release v{version}", out, secrets=ctx.secrets)
    return out.getvalue()


def rows(r: Rehearsal, version: str | None = None) -> dict[str, Outcome]:
    """``inv release.status [--version VERSION]``'s rows, by step."""
    ctx = rehearsal_context(r.work, parse_version(version or described(r)), r.s)
    return {o.name: o for o in status(ctx)}


def all_done(r: Rehearsal, version: str) -> None:
    """Status describes *version* and every row says it is done (or not for this release)."""
    assert described(r) == version
    shown = rows(r)
    assert {o.status for o in shown.values()} <= {Status.DONE, Status.SKIPPED}, shown


def check(r: Rehearsal, want: Expected) -> None:
    remote, tags = r.remote, set(git(r.remote, "tag", "--list").split())
    # --- tags: one per release; a rollback tag on the release rolled back to ---
    assert {t for t in tags if t.startswith("v")} == {f"v{v}" for v in want.released}
    # --- main's tree ---
    init = git(remote, "show", "main:src/market_data_ingestion/__init__.py")
    assert f'__version__ = "{want.main_version}"' in init
    listed = git(remote, "ls-tree", "--name-only", "main", "lifecycle/").split()
    assert {Path(p).stem for p in listed} == want.on_main
    fragments = git(remote, "ls-tree", "--name-only", "main", "changelog.d/").split()
    assert not [f for f in fragments if Path(f).name.count(".") >= 2], fragments  # all released
    # --- CHANGELOG: each section once, newest first, yanked where rolled back ---
    text = git(remote, "show", "main:CHANGELOG.md")
    sections = keepachangelog.released_versions(text)
    ordered = sorted(sections, key=parse_version, reverse=True)
    assert sections == ordered and len(set(sections)) == len(sections)
    assert set(want.released) <= set(sections)
    for version in want.released:
        assert keepachangelog.is_yanked(text, version) == (version in want.yanked), version
    for name in ("feature-a", "feature-b", "hot", "feature-c", "feature-d"):
        said = f"lifecycle change {name}."
        assert text.count(said) <= 1, name  # no fragment released twice
    # --- the index: sdist and wheel of each release ---
    served = index.served_files(r.s.index.simple_url, PACKAGE)
    for version in want.released:
        assert len(index.release_files(served, PACKAGE, version)) == 2, version
    # --- GitHub: one release each, the right one latest, rolled back ones marked ---
    releases = {rel["tag_name"]: rel for rel in github_get(r.s, "/releases")}
    assert set(releases) == {f"v{v}" for v in want.released}
    for version in want.released:
        marked = releases[f"v{version}"]["name"].endswith("(rolled back)")
        assert marked == (version in want.yanked), version
    assert r.s.github.state.latest_release()["tag_name"] == f"v{want.latest}"
    # --- images: every release's own, latest on the newest live one; manifests follow ---
    manifest = git(remote, "show", "main:deploy/k8s/deployment.yaml")
    if r.s.registry is not None:
        with registry_of(r) as registry:
            # The manifests name the image that was pushed: the stand-in registry's host.
            assert f"image: {registry.image}:{want.deployed or f'v{want.latest}'}" in manifest
            for version in want.released:
                assert registry.labels(f"v{version}")[VERSION_LABEL] == version
            assert registry.digest("latest") == registry.digest(f"v{want.latest}")
    # --- people: one message per release and rollback; no email: the project configures no
    # mail server, so neither does its rehearsal (tests/engine/test_rehearsal_is_release.py) ---
    assert len(r.s.slack.received) == want.notifications
    if r.s.mail is not None:
        assert len(r.s.mail.delivered) == want.emails


def rolled_back(r: Rehearsal, want: Expected) -> None:
    """THIRD as status shows it after its rollback, and its release run again: refused
    (exit 3) from this clone and a fresh one, the remote, registry and GitHub unchanged."""
    assert described(r) == THIRD  # the version stays; it is shown rolled back
    shown = rows(r)
    row = shown["rolled-back"]
    assert row.status is Status.ROLLED_BACK and f"to v{AFTER}" in row.detail
    assert Status.PENDING not in {o.status for o in shown.values()}
    issue = github_get(r.s, "/issues?labels=rollback&state=all")
    assert [i["title"] for i in issue] == [f"Investigate the rollback of v{THIRD}"]
    assert f"root cause: {issue[0]['html_url']}" in row.detail
    if r.s.registry is not None:
        assert f"image rollback-v{THIRD} = v{AFTER}" in row.detail
        assert f"manifests on main name rollback-v{THIRD}" in row.detail

    def world() -> tuple[object, ...]:
        tags = None
        if r.s.registry is not None:
            with registry_of(r) as registry:
                tags = sorted(registry.tags()), registry.digest("latest")
        return git(r.remote, "show-ref"), github_get(r.s, "/releases"), tags

    before = world()
    fresh = r.work.parent / "fresh-after-rollback"
    git(r.work.parent, "clone", "-q", str(r.remote), str(fresh))
    for clone in (r.work, fresh):
        with pytest.raises(ConflictError) as refused:
            Rehearsal(clone, r.remote, r.s).run(THIRD)
        assert refused.value.exit_code == 3
        assert refused.value.message.startswith(f"v{THIRD} was rolled back to v{AFTER}")
    assert world() == before
    check(r, want)


@pytest.mark.timeout(1800)  # four releases and a rollback, and main's suites: 600 s is for one
def test_release_hotfix_release_rollback_release(rehearsal: Rehearsal) -> None:
    r, suites = rehearsal, Suites(rehearsal)
    live = [VERSION]

    # --- VERSION: the first release of this test; status before it speaks of it alone ---
    change(r, "feature-a", "added", "Added lifecycle change feature-a.")
    before = rows(r)
    assert described(r) == VERSION and f"suggested next version: {VERSION}" in status_text(r)
    assert before["bump"].status is Status.PENDING and before["bump"].detail.endswith(VERSION)
    if r.s.registry is not None:  # the manifests are not at the release yet
        assert before["deploy-manifests"].status is Status.PENDING
    r.run(VERSION)
    want = Expected([VERSION], VERSION, VERSION, {"feature-a"}, notifications=1)
    check(r, want)
    shown = status_text(r)
    assert f"last release: {VERSION} on " in shown
    assert "unreleased fragments: none" in shown
    assert f"latest GitHub release: v{VERSION}" in shown and f"latest index: {VERSION}" in shown
    all_done(r, VERSION)
    suites.start("first")

    # --- AFTER: a feature release ---
    change(r, "feature-b", "added", "Added lifecycle change feature-b.")
    assert f"suggested next version: {AFTER} (minor)" in status_text(r)
    r.run(AFTER)
    live.append(AFTER)
    want = Expected(live, AFTER, AFTER, {"feature-a", "feature-b"}, notifications=2)
    check(r, want)
    shown = status_text(r)
    assert f"last release: {AFTER} on " in shown and "unreleased fragments: none" in shown
    assert f"latest GitHub release: v{AFTER}" in shown and f"latest index: {AFTER}" in shown
    all_done(r, AFTER)
    suites.start("second")

    # --- HOTFIX of VERSION's line: released from its branch, merged forward to main ---
    hotfix_command(r.work, f"v{VERSION}")
    change(r, "hot", "fixed", "Fixed lifecycle change hot.")
    report = r.run(HOTFIX)
    steps = {o.name: o.status for o in report.steps}
    assert steps["forward-merge"] == "acted" and steps["deploy-manifests"] == "skipped"
    live.append(HOTFIX)
    on_main = {"feature-a", "feature-b", "hot"}
    want = Expected(live, AFTER, AFTER, on_main, notifications=3)
    check(r, want)  # main keeps its version; latest stays on the newer line
    text = git(r.remote, "show", "main:CHANGELOG.md")
    assert keepachangelog.released_versions(text)[:3] == [AFTER, HOTFIX, VERSION]
    assert "Fixed lifecycle change hot." in (extract_section(text, HOTFIX) or "")
    assert git(r.remote, "merge-base", "--is-ancestor", f"v{HOTFIX}", "main") == ""
    shown = status_text(r)  # the newest release stays the last one; latest stays on it
    assert f"last release: {AFTER} on " in shown and "unreleased fragments: none" in shown
    assert f"latest GitHub release: v{AFTER}" in shown and f"latest index: {AFTER}" in shown
    all_done(r, HOTFIX)  # the clone is on the hotfix branch: its version
    suites.start("hotfix")

    # --- THIRD, from main: has the hotfix's fix, never its fragment again ---
    git(r.work, "checkout", "-q", "main")
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    change(r, "feature-c", "fixed", "Fixed lifecycle change feature-c.")
    r.run(THIRD)
    live.append(THIRD)
    on_main = {"feature-a", "feature-b", "hot", "feature-c"}
    want = Expected(live, THIRD, THIRD, on_main, notifications=4)
    check(r, want)
    released = git(r.remote, "show", "main:CHANGELOG.md")
    assert "hot." not in (extract_section(released, THIRD) or "")
    shown = status_text(r)
    assert f"last release: {THIRD} on " in shown and "unreleased fragments: none" in shown
    assert f"latest GitHub release: v{THIRD}" in shown and f"latest index: {THIRD}" in shown
    all_done(r, THIRD)
    suites.start("third")

    # --- rollback of THIRD: code, latest, GitHub, manifests, people; the version stays ---
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    before = git(r.remote, "rev-parse", "main")
    dry = r.rollback(THIRD, dry_run=True)
    assert {o.name for o in dry} >= {"revert", "latest-image", "github-rollback", "notify"}
    assert git(r.remote, "rev-parse", "main") == before  # a dry run changes nothing
    r.rollback(THIRD)
    on_main = {"feature-a", "feature-b", "hot"}  # THIRD's change is gone, the fix stays
    want = Expected(live, AFTER, THIRD, on_main, {THIRD}, notifications=5,
                    deployed=f"rollback-v{THIRD}")  # fmt: skip
    check(r, want)
    assert git(r.remote, "rev-parse", f"rollback-v{THIRD}^{{commit}}") == git(
        r.remote, "rev-parse", f"v{AFTER}^{{commit}}"
    )
    trailers = git(r.remote, "log", "--format=%(trailers:key=Rollback,valueonly)", "main")
    assert trailers.split() == [f"v{THIRD}"]
    shown = status_text(r)
    assert f"last release: {AFTER} on " in shown and f"rolled back: {THIRD}" in shown
    assert f"latest GitHub release: v{AFTER}" in shown
    rolled_back(r, want)
    head = git(r.remote, "rev-parse", "main")
    again = r.rollback(THIRD)  # finished before: verified, nothing done twice
    assert {o.status for o in again} <= {"done", "skipped"}
    assert git(r.remote, "rev-parse", "main") == head
    check(r, want)
    suites.start("rollback")

    # --- FOURTH: fixes forward above the rolled-back version ---
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    change(r, "feature-d", "fixed", "Fixed lifecycle change feature-d.")
    assert f"suggested next version: {FOURTH} (patch)" in status_text(r)
    r.run(FOURTH)
    suites.start("fourth", whole=True)  # main's tree now; what follows only reads
    live.append(FOURTH)
    on_main = {"feature-a", "feature-b", "hot", "feature-d"}
    want = Expected(live, FOURTH, FOURTH, on_main, {THIRD}, notifications=6)
    check(r, want)
    all_done(r, FOURTH)
    gone = rows(r, THIRD)  # still rolled back, no step of it pending; the manifests moved on
    assert gone["rolled-back"].status is Status.ROLLED_BACK
    assert f"manifests on main do not name rollback-v{THIRD}" in gone["rolled-back"].detail
    assert Status.PENDING not in {o.status for o in gone.values()}
    section = extract_section(git(r.remote, "show", "main:CHANGELOG.md"), FOURTH) or ""
    assert "feature-d" in section and "feature-c" not in section
    with pytest.raises(PreflightError, match="rolled back already"):
        r.rollback(THIRD)  # rerun after a newer release: never redeploys the old version
    shown = status_text(r)
    assert f"last release: {FOURTH} on " in shown and "unreleased fragments: none" in shown
    check(r, want)
    suites.check()
