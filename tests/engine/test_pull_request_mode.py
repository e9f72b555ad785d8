"""``merge = "pull-request"``: every change to a protected main goes through a pull request.

The rehearsal's bare remote refuses pushes to main with a real ``pre-receive`` hook (GitHub's
GH006); the GitHub stand-in opens, lists and merges pull requests as GitHub documents them,
making real merge commits in that remote. No container image here (kept fast): the deploy
manifests step is skipped, the release merge and the next-cycle commit go through pull
requests.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from release_engine.cli import hotfix_command
from release_engine.config import Credentials, ReleaseConfig, load_config
from release_engine.context import Options, ReleaseContext
from release_engine.engine import release, rollback
from release_engine.errors import ConfigError, ReleaseError
from release_engine.output import ConsoleReporter
from release_engine.rehearsal import StandIns, clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes.github.client import GitHubClient
from release_engine.remotes.github.pulls import Pulls
from release_engine.report import Report
from release_engine.standins.github_api import GitHubStandIn
from release_engine.steps import RELEASE_STEPS
from release_engine.version import next_development, parse_version
from tests.conftest import git
from tests.engine.conftest import AFTER, HOTFIX, VERSION, Rehearsal
from tests.engine.test_standins import call

pytestmark = pytest.mark.e2e

DAY = "2026-01-15"
PR_MODE: dict[str, Any] = {"merge": "pull-request", "next_cycle": "dev"}
TAG = f"v{VERSION}"
DEV = next_development(parse_version(VERSION)).pep440
GH006 = "remote: error: GH006: Protected branch update failed for refs/heads/main."


@dataclass
class PullRequestRehearsal:
    work: Path
    remote: Path
    s: StandIns

    def context(self, version: str = VERSION, **settings: Any) -> ReleaseContext:
        options = Options(date=DAY, skip_image=True)
        return rehearsal_context(
            self.work, parse_version(version), self.s, options=options, settings=settings
        )

    def run(self, *, output: io.StringIO | None = None, **kwargs: Any) -> Report:
        settings = {**PR_MODE, **kwargs.pop("settings", {})}
        return release(self.context(**settings), ConsoleReporter(output), **kwargs)

    def pulls(self) -> list[tuple[str, str, bool]]:
        """(head branch, state, merged) of every pull request the release opened, oldest first
        (the one the rehearsal seeds, which brought the released commit to main, left out)."""
        found = self.opened()[::-1]
        return [(p["head"]["ref"], p["state"], p["merged_at"] is not None) for p in found]

    def opened(self) -> list[dict[str, Any]]:
        """The pull requests from the release's branches, as GitHub lists them (newest first)."""
        return [p for p in self.s.github.pull_requests() if p["head"]["ref"].startswith("release/")]


def _rehearsal(source_repo: Path, tmp: Path) -> Iterator[PullRequestRehearsal]:
    with stand_ins(tmp / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp)
        yield PullRequestRehearsal(work, tmp / "remote.git", s)


@pytest.fixture
def pr_rehearsal(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> Iterator[PullRequestRehearsal]:
    yield from _rehearsal(source_repo, tmp_path)


def end_state(r: PullRequestRehearsal) -> dict[str, object]:
    """What the release left on the remote and on GitHub (shas aside: they hold timestamps)."""
    remote = r.remote
    return {
        "pulls": r.pulls(),
        "pull_posts": r.s.github.count("POST", f"/repos/{r.s.github.repository}/pulls"),
        "main_tree": git(remote, "rev-parse", "main^{tree}"),
        "main_history": git(remote, "log", "--first-parent", "--format=%s", "main"),
        "tags": git(remote, "tag", "--list"),
        "tag_tree": git(remote, "rev-parse", f"{TAG}^{{tree}}"),
        "branches": sorted(git(remote, "branch", "--format=%(refname:short)").split()),
        "release_bodies": [rel["body"] for rel in r.s.github.releases()],
        "notifications": len(r.s.slack.received),
    }


def _push_to_main(work: Path) -> subprocess.CompletedProcess[str]:
    git(work, "checkout", "--quiet", "main")
    (work / "direct.txt").write_text("pushed without a pull request\n")
    git(work, "add", "direct.txt")
    git(work, "commit", "--quiet", "-m", "Push straight to main")
    return subprocess.run(
        ["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True
    )


# --- (1) a whole release against a protected main -----------------------------------------
def test_a_release_lands_on_a_protected_main_through_merged_pull_requests(
    pr_rehearsal: PullRequestRehearsal,
) -> None:
    r = pr_rehearsal
    output = io.StringIO()
    report = r.run(output=output)

    acted = {o.name for o in report.steps if o.status == "acted"}
    assert {"merge", "push", "next-cycle"} <= acted
    branch = f"release/{TAG}"
    assert r.pulls() == [(branch, "closed", True), (f"{branch}-next", "closed", True)]
    history = git(r.remote, "log", "--first-parent", "--format=%s", "main").splitlines()
    assert history[:2] == [
        f"Merge pull request #2 from rehearsal/{branch}-next",
        f"Merge pull request #1 from rehearsal/{branch}",
    ]
    for pull in r.opened():  # each a real merge commit: main, then the head
        parents = git(r.remote, "rev-parse", f"{pull['merge_commit_sha']}^@").split()
        assert len(parents) == 2 and parents[1] == pull["head"]["sha"]
        assert git(r.remote, "log", "-1", "--format=%cn", pull["merge_commit_sha"]) == "GitHub"
    assert git(r.remote, "merge-base", "--is-ancestor", TAG, "main") == ""
    assert f'current_version = "{DEV}"' in git(r.remote, "show", "main:pyproject.toml")
    assert git(r.work, "rev-parse", "main") == git(r.remote, "rev-parse", "main")  # fetched
    assert "opened pull request #1" in output.getvalue()

    # The protection is real: a direct push to main is refused with GitHub's GH006,
    # and main on the remote does not move; another branch is still pushed.
    before = git(r.remote, "rev-parse", "main")
    refused = _push_to_main(r.work)
    assert refused.returncode != 0
    assert GH006 in refused.stderr
    assert git(r.remote, "rev-parse", "main") == before
    git(r.work, "push", "--quiet", "origin", "main:refs/heads/elsewhere")
    assert git(r.remote, "rev-parse", "elsewhere") == git(r.work, "rev-parse", "main")


def test_a_hotfix_merges_forward_through_a_pull_request(
    pr_rehearsal: PullRequestRehearsal,
) -> None:
    """The hotfix's own merge goes to its hotfix branch (not protected); its forward merge
    reaches main through a pull request from ``release/vX.Y.Z-forward``."""
    r = pr_rehearsal
    r.run()
    hotfix_command(r.work, TAG)
    (r.work / "changelog.d" / "+hot.fixed.md").write_text("Fixed a hot bug.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "--quiet", "-m", "Fix a hot bug")
    git(r.work, "push", "--quiet", "origin", f"hotfix/v{HOTFIX}")

    report = release(r.context(**PR_MODE, version=HOTFIX), ConsoleReporter(io.StringIO()))
    steps = {o.name: o.status for o in report.steps}
    assert steps["forward-merge"] == "acted" and steps["next-cycle"] == "skipped"
    forward = f"release/v{HOTFIX}-forward"
    assert r.pulls()[-1] == (forward, "closed", True)
    assert len(r.pulls()) == 3  # the release, its next cycle, the forward merge
    assert git(r.remote, "log", "-1", "--format=%s", "main") == (
        f"Merge pull request #3 from rehearsal/{forward}"
    )
    assert git(r.remote, "merge-base", "--is-ancestor", f"v{HOTFIX}", "main") == ""
    assert "Fixed a hot bug." in git(r.remote, "show", "main:CHANGELOG.md")
    # main's 0.2.1.dev0-like version is below the hotfix's: main takes the hotfix's version
    assert f'current_version = "{HOTFIX}"' in git(r.remote, "show", "main:pyproject.toml")


@pytest.mark.container
def test_the_deployment_manifests_land_through_a_pull_request(rehearsal: Rehearsal) -> None:
    """With a container image (the slow part, so once): the deploy commit's pull request."""
    r = rehearsal
    if r.s.registry is None:
        pytest.skip("no container engine: the manifests step is skipped without an image")
    ctx = rehearsal_context(r.work, parse_version(VERSION), r.s, settings=PR_MODE)
    report = release(ctx, ConsoleReporter(io.StringIO()))
    assert {o.name: o.status for o in report.steps}["deploy-manifests"] == "acted"
    pulls = PullRequestRehearsal(r.work, r.remote, r.s).pulls()
    branch = f"release/{TAG}"
    assert pulls == [(b, "closed", True) for b in (branch, f"{branch}-deploy", f"{branch}-next")]
    assert git(r.remote, "log", "--first-parent", "--format=%s", "-3", "main").splitlines() == [
        f"Merge pull request #{n} from rehearsal/{b}"
        for n, b in ((3, f"{branch}-next"), (2, f"{branch}-deploy"), (1, branch))
    ]
    assert f":{TAG}" in git(r.remote, "show", "main:deploy/k8s/deployment.yaml")


def test_a_rollback_lands_through_a_pull_request_on_a_protected_main(
    pr_rehearsal: PullRequestRehearsal,
) -> None:
    r = pr_rehearsal
    r.run()
    # The next release's feature reaches the protected main as anything does: a pull request.
    git(r.work, "checkout", "--quiet", "-b", "second", "main")
    (r.work / "changelog.d" / "+second.added.md").write_text("Added the second module.\n")
    (r.work / "src" / "market_data_ingestion" / "second.py").write_text('"""Second."""\n')
    (r.work / "docs" / "second.md").write_text("# The second module\n")  # news is documented
    git(r.work, "add", "--all")
    git(r.work, "commit", "--quiet", "-m", "Add the second module")
    git(r.work, "push", "--quiet", "origin", "second")
    pulls = Pulls(GitHubClient(r.s.github.url, r.s.github.repository, r.s.github.token))
    feature = pulls.open("second", "main", "Add the second module", "")
    r.s.github.seed_review(feature.number, "alice", "APPROVED")  # the review gate asks for it
    assert pulls.merge(feature.number, git(r.work, "rev-parse", "second")).merged
    git(r.work, "checkout", "--quiet", "main")
    git(r.work, "pull", "--quiet", "--ff-only", "origin", "main")
    release(r.context(AFTER, **PR_MODE), ConsoleReporter(io.StringIO()))
    assert "second.py" in git(r.remote, "ls-tree", "-r", "--name-only", "main")

    ctx = r.context(AFTER, **PR_MODE)
    rollback(ctx, ConsoleReporter(io.StringIO()))
    # Main lost what AFTER shipped, through a merged pull request; the tag went straight.
    assert "second.py" not in git(r.remote, "ls-tree", "-r", "--name-only", "main")
    assert (f"rollback/v{AFTER}", "closed", True) in [
        (p["head"]["ref"], p["state"], p["merged_at"] is not None)
        for p in r.s.github.pull_requests()
    ]
    assert git(r.remote, "log", "-1", "--format=%s", "main").startswith(
        "Merge pull request #"
    ) and f"rollback/v{AFTER}" in git(r.remote, "log", "-1", "--format=%s", "main")
    assert git(r.remote, "rev-parse", f"rollback-v{AFTER}^{{commit}}") == git(
        r.remote, "rev-parse", f"{TAG}^{{commit}}"
    )
    assert git(r.work, "rev-parse", "main") == git(r.remote, "rev-parse", "main")
    posts = r.s.github.count("POST", f"/repos/{r.s.github.repository}/pulls")
    rollback(r.context(AFTER, **PR_MODE), ConsoleReporter(io.StringIO()))  # done: no new PR
    assert r.s.github.count("POST", f"/repos/{r.s.github.repository}/pulls") == posts


def test_push_mode_is_refused_by_the_protected_remote(pr_rehearsal: PullRequestRehearsal) -> None:
    """The guard fires: the same release in push mode stops at the push, main untouched."""
    r = pr_rehearsal
    r.context(merge="pull-request")  # protects the remote's main
    main = git(r.remote, "rev-parse", "main")
    with pytest.raises(ReleaseError, match="GH006"):
        r.run(settings={"merge": "push"})
    assert git(r.remote, "rev-parse", "main") == main
    assert r.pulls() == []


def test_a_dry_run_prints_the_pull_requests_and_opens_none(
    pr_rehearsal: PullRequestRehearsal,
) -> None:
    r = pr_rehearsal
    refs = git(r.remote, "for-each-ref")
    report = r.run(dry_run=True)
    merge = next(o for o in report.steps if o.name == "merge")
    assert merge.status == "would-run"
    assert f"git push --quiet origin refs/heads/release/{TAG}:refs/heads/release/{TAG}" in (
        merge.commands
    )
    assert any(c.startswith(f"pull request release/{TAG} -> main") for c in merge.commands)
    assert git(r.remote, "for-each-ref") == refs
    assert r.pulls() == []


# --- (2) killed after any step, then run again --------------------------------------------
@pytest.fixture(scope="module")
def baseline(source_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The end state of one uninterrupted pull-request-mode release."""
    tmp = tmp_path_factory.mktemp("pr-baseline")
    for r in _rehearsal(source_repo, tmp):
        r.run()
        yield end_state(r)


#: Steps that act in these rehearsals (no image: image, image-push and the manifests skip;
#: the project configures no mail server, so its rehearsal sends no email either).
ACTING = [
    s.name
    for s in RELEASE_STEPS
    if s.name
    not in {"image", "image-push", "image-sbom", "deploy-manifests", "forward-merge", "email"}
    and s.name not in {"discord", "mastodon", "teams"}  # announcers the project does not use
]


def test_killed_after_a_step_then_rerun_converges(
    pr_rehearsal: PullRequestRehearsal, baseline: dict[str, object]
) -> None:
    """One release killed after every step in turn, each run a forked child SIGKILLed right
    after a step: run k after step k, once steps 1..k-1 were found done (a step acted again
    would come first and end the child otherwise). The run after the last kill finishes the
    release, as one uninterrupted release did (baseline)."""
    r = pr_rehearsal
    for step in ACTING:
        ctx = r.context(**PR_MODE)  # seeded in this process: the child only releases

        def kill(name: str, step: str = step) -> None:
            if name == step:
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(4)  # a step before it acted (again)

        def child(ctx: ReleaseContext = ctx) -> None:
            release(ctx, ConsoleReporter(io.StringIO()), after_step=kill)
            os._exit(3)  # the step never acted

        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join(timeout=300)
        assert process.exitcode == -signal.SIGKILL, f"{step}: exit code {process.exitcode}"

    report = r.run()
    assert [o.name for o in report.steps if o.status == "acted"] == []
    assert end_state(r) == baseline


# --- (3) configuration ----------------------------------------------------------------------
def test_a_bad_merge_value_is_one_line_saying_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as bad:
        ReleaseConfig(package="p", current_version="1.0.0", merge="squash")
    assert "\n" not in str(bad.value)
    assert str(bad.value).startswith("merge = 'squash': use \"push\"")
    assert '"pull-request"' in str(bad.value)

    (tmp_path / "pyproject.toml").write_text(
        '[tool.bumpversion]\ncurrent_version = "1.0.0"\n'
        '[tool.towncrier]\ndirectory = "changelog.d"\nfilename = "CHANGELOG.md"\n'
        '[tool.release]\npackage = "p"\nmerge = "rebase"\n'
    )
    with pytest.raises(ConfigError, match=r"merge = 'rebase': use"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="pull_request_timeout = 0"):
        ReleaseConfig(package="p", current_version="1.0.0", pull_request_timeout=0)

    assert ReleaseConfig(package="p", current_version="1.0.0").merge == "push"
    unconfigured = ReleaseConfig(package="p", current_version="1.0.0", merge="pull-request")
    assert Credentials().missing(unconfigured) == [
        'merge = "pull-request" needs github_repository: set it in [tool.release], '
        'or use merge = "push"'
    ]


# --- (4) an open pull request is reused ---------------------------------------------------
class Stop(Exception):
    pass


def test_an_open_pull_request_is_merged_not_opened_again(
    pr_rehearsal: PullRequestRehearsal,
) -> None:
    r = pr_rehearsal

    def stop(name: str) -> None:
        if name == "tag":
            raise Stop(name)

    with pytest.raises(Stop):
        r.run(after_step=stop)
    # Someone (or an earlier run, stopped after opening it) opened the release's pull request.
    branch = f"release/{TAG}"
    git(r.work, "push", "--quiet", "origin", f"{branch}:refs/heads/{branch}")
    api = f"/repos/{r.s.github.repository}"
    opened = {"title": f"Release {TAG}", "head": f"rehearsal:{branch}", "base": "main"}
    status, body, _ = call(r.s.github, "POST", f"{api}/pulls", opened)
    assert status == 201 and body["number"] == 1, body

    r.run()
    assert r.pulls() == [(branch, "closed", True), (f"{branch}-next", "closed", True)]
    assert r.s.github.count("POST", f"{api}/pulls") == 2  # ours above, and the next cycle's
    assert r.s.github.count("PUT", f"{api}/pulls/1/merge") == 1


# --- the stand-in's pull requests, and waiting for required checks ------------------------
@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare remote with main and a branch ``topic`` one commit ahead of it."""
    work, remote = tmp_path / "work", tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch", "main", str(remote))
    git(tmp_path, "init", "--quiet", "--initial-branch", "main", str(work))
    for args in (("user.email", "t@localhost"), ("user.name", "T")):
        git(work, "config", *args)
    (work / "a.txt").write_text("a\n")
    git(work, "add", "a.txt")
    git(work, "commit", "--quiet", "-m", "First")
    git(work, "checkout", "--quiet", "-b", "topic")
    (work / "a.txt").write_text("a\nb\n")
    git(work, "commit", "--quiet", "-am", "Topic")
    git(work, "push", "--quiet", str(remote), "main", "topic")
    return remote


def test_the_stand_in_serves_githubs_pull_request_answers(bare: Path) -> None:
    with GitHubStandIn("your-org/finbot", git_dir=bare) as gh:
        api = "/repos/your-org/finbot"
        ask = {"title": "Topic", "head": "your-org:topic", "base": "main"}
        status, pull, _ = call(gh, "POST", f"{api}/pulls", ask)
        assert (status, pull["number"], pull["state"], pull["head"]["ref"]) == (
            201,
            1,
            "open",
            "topic",
        )
        status, again, _ = call(gh, "POST", f"{api}/pulls", ask)
        assert status == 422
        assert again["errors"][0]["message"] == "A pull request already exists for your-org:topic."
        status, listed, _ = call(gh, "GET", f"{api}/pulls?head=your-org:topic&state=open")
        assert [p["number"] for p in listed] == [1]
        status, moved, _ = call(gh, "PUT", f"{api}/pulls/1/merge", {"sha": "0" * 40})
        assert (status, moved["message"]) == (
            409,
            "Head branch was modified. Review and try the merge again.",
        )
        status, merged, _ = call(gh, "PUT", f"{api}/pulls/1/merge", {"merge_method": "merge"})
        assert status == 200 and merged["merged"] is True
        assert git(bare, "rev-parse", "main") == merged["sha"]
        assert git(bare, "log", "-1", "--format=%s", "main") == (
            "Merge pull request #1 from your-org/topic"
        )
        status, closed, _ = call(gh, "GET", f"{api}/pulls?state=closed&head=your-org:topic")
        assert [(p["number"], p["merge_commit_sha"]) for p in closed] == [(1, merged["sha"])]
        assert call(gh, "PUT", f"{api}/pulls/1/merge", {})[0] == 405  # merged already


def test_a_conflicting_pull_request_is_not_mergeable(bare: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git(work, "checkout", "--quiet", "main")
    (work / "a.txt").write_text("a\nc\n")
    git(work, "commit", "--quiet", "-am", "Conflicts with topic")
    git(work, "push", "--quiet", str(bare), "main")
    with GitHubStandIn("your-org/finbot", git_dir=bare) as gh:
        api = "/repos/your-org/finbot"
        ask = {"title": "Topic", "head": "topic", "base": "main"}
        assert call(gh, "POST", f"{api}/pulls", ask)[0] == 201
        before = git(bare, "rev-parse", "main")
        status, body, _ = call(gh, "PUT", f"{api}/pulls/1/merge", {})
        assert (status, body["message"]) == (405, "Pull Request is not mergeable")
        assert git(bare, "rev-parse", "main") == before


def test_the_engine_waits_for_required_checks_then_merges(bare: Path) -> None:
    with GitHubStandIn("your-org/finbot", git_dir=bare) as gh:
        gh.seed_required_checks("main", ["ci"])
        client = GitHubClient(gh.url, "your-org/finbot", gh.token)
        pulls = Pulls(client)
        pull = pulls.open("topic", "main", "Topic", "")
        assert pulls.open("topic", "main", "Topic", "") == pull  # 422: the open one, not two
        head = git(bare, "rev-parse", "topic")
        refused = pulls.merge(pull.number, head)
        assert (refused.merged, refused.status) == (False, 405)
        assert refused.message == 'Required status check "ci" is expected.'

        from release_engine.steps.landing import _wait_and_merge

        ctx = ReleaseContext(
            repo=bare,
            version=parse_version("1.0.0"),
            config=ReleaseConfig(package="p", current_version="0.9.0", pull_request_timeout=30),
            credentials=Credentials(),
            github=client,
        )
        seen: list[str] = []
        ctx.progress = seen.append
        gh.seed_status(head, "ci", "pending")

        def finish_ci() -> None:
            time.sleep(1.5)
            gh.seed_status(head, "ci", "success")

        threading.Thread(target=finish_ci, daemon=True).start()
        _wait_and_merge(ctx, pulls, pull, head)
        assert any("checks pending: ci" in line for line in seen)
        assert pulls.find("topic", "main", "closed")[0].merged
        assert git(bare, "rev-parse", "main^2") == head


def test_failed_required_checks_stop_with_what_to_do(bare: Path) -> None:
    with GitHubStandIn("your-org/finbot", git_dir=bare) as gh:
        gh.seed_required_checks("main", ["ci"])
        client = GitHubClient(gh.url, "your-org/finbot", gh.token)
        pulls = Pulls(client)
        pull = pulls.open("topic", "main", "Topic", "")
        head = git(bare, "rev-parse", "topic")
        gh.seed_status(head, "ci", "failure")
        from release_engine.steps.landing import _wait_and_merge

        ctx = ReleaseContext(
            repo=bare,
            version=parse_version("1.0.0"),
            config=ReleaseConfig(package="p", current_version="0.9.0"),
            credentials=Credentials(),
            github=client,
        )
        with pytest.raises(
            ReleaseError, match=r"checks failed on \w{12} \(ci\): fix them on topic"
        ):
            _wait_and_merge(ctx, pulls, pull, head)
        assert not pulls.find("topic", "main", "all")[0].merged
