"""The review, CI and prerelease gates, each made to fire against the GitHub stand-in.

A real clone of this repository (its origin a local bare remote) and the GitHub stand-in,
which models reviews, dismissals, branch protection, rulesets and check runs as GitHub's REST
API documents them; the gates are asked as the preflight asks them (``github_gates``), and
through the whole preflight where the one-line refusal (exit 3) is what is tested.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from release_engine.config import Credentials
from release_engine.context import Options, ReleaseContext
from release_engine.engine import open_release
from release_engine.errors import PreflightError
from release_engine.gates import github_gates, review_decision
from release_engine.preflight import preflight
from release_engine.rehearsal import clone_for_rehearsal
from release_engine.released_commits import released_commits
from release_engine.remotes.github.remote import seed_green
from release_engine.remotes.github.rules import Review
from release_engine.standins.github_api import GitHubStandIn
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import HOTFIX, VERSION

LOCAL = {"index_url": "", "index_simple_url": "", "image": ""}


@pytest.fixture
def work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    return clone_for_rehearsal(source_repo, tmp_path)


def context(
    work: Path, gh: GitHubStandIn, version: str = VERSION, options: Options | None = None,
    **settings: Any,
) -> ReleaseContext:  # fmt: skip
    overrides = {**LOCAL, "github_repository": gh.repository, "github_api_url": gh.url}
    return open_release(
        work,
        parse_version(version),
        overrides={**overrides, **settings},
        options=options or Options(),
        credentials=Credentials({"GITHUB_TOKEN": gh.token}),
    )


def problems(work: Path, gh: GitHubStandIn, **settings: Any) -> list[str]:
    return github_gates(context(work, gh, **settings)).problems


def commit(work: Path, name: str, subject: str, branch: str = "main") -> str:
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(subject + "\n")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", subject)
    git(work, "push", "-q", "origin", branch)
    return git(work, "rev-parse", "HEAD")


def dismiss(gh: GitHubStandIn, number: int, review_id: int) -> tuple[int, Any]:
    url = f"{gh.url}/repos/{gh.repository}/pulls/{number}/reviews/{review_id}/dismissals"
    body = json.dumps({"message": "stale", "event": "DISMISS"}).encode()
    request = urllib.request.Request(url, data=body, method="PUT",
                                     headers={"Authorization": f"Bearer {gh.token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def pull_number(work: Path) -> int:
    return int(git(work, "rev-parse", "HEAD")[:6], 16)  # seed_green's number


# --- review ---------------------------------------------------------------------------------


def test_githubs_review_decision() -> None:
    a, b = "alice", "bob"
    assert review_decision([Review(a, "APPROVED")], 1)[0] == "APPROVED"
    assert review_decision([Review(a, "APPROVED"), Review(b, "CHANGES_REQUESTED")], 1) == (
        "CHANGES_REQUESTED", "changes requested by bob")  # fmt: skip
    # the latest verdict of each reviewer counts; a comment changes nothing
    assert review_decision([Review(b, "CHANGES_REQUESTED"), Review(b, "APPROVED"),
                            Review(b, "COMMENTED")], 1)[0] == "APPROVED"  # fmt: skip
    assert review_decision([Review(a, "APPROVED"), Review(a, "DISMISSED")], 1) == (
        "REVIEW_REQUIRED", "0 of 1 required approval(s)")  # fmt: skip
    assert review_decision([Review(a, "APPROVED"), Review(a, "APPROVED")], 2)[0] == (
        "REVIEW_REQUIRED")  # fmt: skip
    assert review_decision([], 0)[0] == "REVIEW_REQUIRED"  # one approval at least, always


def test_a_release_whose_gates_are_green_passes(work: Path, gh: GitHubStandIn) -> None:
    seed_green(gh, work)
    result = github_gates(context(work, gh))
    assert result.problems == []
    assert result.notes == [
        "main requires 1 approval(s) and the checks green (from no branch protection or "
        "ruleset; checks from [tool.release] required_checks)"
    ]


def test_changes_requested_after_an_approval_is_refused(work: Path, gh: GitHubStandIn) -> None:
    seed_green(gh, work)
    gh.seed_review(pull_number(work), "alice", "APPROVED")
    gh.seed_review(pull_number(work), "bob", "CHANGES_REQUESTED")
    assert problems(work, gh) == [
        f"pull request #{pull_number(work)} into main is not approved (changes requested by "
        "bob; main requires 1): get it approved, or pass --skip-review"
    ]


def test_a_dismissed_review_drops_out(work: Path, gh: GitHubStandIn) -> None:
    sha = git(work, "rev-parse", "HEAD")
    seed_green(gh, work)
    gh.seed_pull(7, head_sha=sha, merge_commit_sha=sha, approved_by=["alice"], commits=[sha])
    gh.state.data["pulls"].pop(str(pull_number(work)))  # only #7 brought the commit
    review = gh.state.data["reviews"]["7"][0]["id"]
    assert problems(work, gh) == []
    assert dismiss(gh, 7, review)[0] == 200
    assert problems(work, gh) == [
        "pull request #7 into main is not approved (0 of 1 required approval(s); main requires "
        "1): get it approved, or pass --skip-review"
    ]
    gh.seed_review(7, "bob", "CHANGES_REQUESTED")
    bob = gh.state.data["reviews"]["7"][-1]["id"]
    gh.seed_review(7, "carol", "APPROVED")
    assert "changes requested by bob" in problems(work, gh)[0]
    assert dismiss(gh, 7, bob)[0] == 200  # bob's request dismissed: carol's approval stands
    assert problems(work, gh) == []
    gh.seed_review(7, "dave", "COMMENTED")
    assert dismiss(gh, 7, gh.state.data["reviews"]["7"][-1]["id"])[0] == 422
    assert dismiss(gh, 7, 99999)[0] == 404


def test_a_direct_push_under_an_approved_head_is_named(work: Path, gh: GitHubStandIn) -> None:
    seed_green(gh, work)  # everything so far came through an approved pull request
    pushed = commit(work, "src/unreviewed.py", "Push straight to main")
    head = commit(work, "docs/reviewed.md", "Reviewed change")
    gh.seed_check_run(head, "green")
    gh.seed_pull(8, head_sha=head, merge_commit_sha=head, approved_by=["alice"])
    assert problems(work, gh) == [
        f"1 commit(s) reached main without a merged pull request: {pushed[:12]} 'Push straight "
        "to main': bring them through an approved pull request, or pass --skip-review"
    ]
    asked = [path for method, path in gh.requests if path.endswith("/pulls")]
    # the listing of merged pull requests, then the one commit it does not explain
    assert asked == [
        f"/repos/{gh.repository}/pulls",
        f"/repos/{gh.repository}/commits/{pushed}/pulls",
    ]


def test_the_review_gate_asks_per_pull_request_not_per_commit(
    work: Path, gh: GitHubStandIn
) -> None:
    """Forty commits brought by two pull requests, one merged with a merge commit (its side
    read from git) and one whose commits GitHub lists: a handful of requests, none per commit."""
    git(work, "checkout", "-q", "-b", "topic")
    side = [commit(work, f"src/side{i}.py", f"Side change {i}", "topic") for i in range(20)]
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", "Merge pull request #5 from your-org/topic", "topic")
    merge = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", "main")
    gh.seed_pull(5, head_sha=side[-1], merge_commit_sha=merge, approved_by=["alice"])
    seed_green(gh, work, ref=f"{merge}^1")  # what came before: one approved pull
    rebased = [commit(work, f"src/main{i}.py", f"Main change {i}") for i in range(20)]
    gh.seed_check_run(rebased[-1], "green")
    gh.seed_pull(6, head_sha=rebased[-1], merge_commit_sha=rebased[-1], approved_by=["bob"],
                 commits=rebased[:-1])  # fmt: skip
    assert problems(work, gh) == []
    asked = [path for method, path in gh.requests if method == "GET"]
    assert not [path for path in asked if "/commits/" in path and path.endswith("/pulls")]
    assert asked.count(f"/repos/{gh.repository}/pulls") == 1
    assert f"/repos/{gh.repository}/pulls/6/commits" in asked
    assert len(asked) < 15, asked


def test_required_approvals_from_branch_protection_then_rulesets_then_the_setting(
    work: Path, gh: GitHubStandIn
) -> None:
    seed_green(gh, work)
    gh.protection.protect("main", approvals=2)
    assert "(1 of 2 required approval(s); main requires 2)" in problems(work, gh)[0]
    gh.protection.hide()  # a token without administration: the setting decides
    ctx = context(work, gh, required_approvals=3)
    result = github_gates(ctx)
    assert "(1 of 3 required approval(s); main requires 3)" in result.problems[0]
    assert (
        "the branch protection of main is not readable with this token (403 Resource not "
        "accessible by integration): [tool.release] required_approvals" in result.notes[0]
    )
    gh.protection.add_ruleset("ma*", approvals=4)  # rulesets are readable with read access
    assert "main requires 4" in problems(work, gh, required_approvals=1)[0]


def test_code_owner_review_required_is_said(work: Path, gh: GitHubStandIn) -> None:
    seed_green(gh, work)
    gh.protection.add_ruleset("main", approvals=1, code_owners=True)
    result = github_gates(context(work, gh))
    assert result.problems == [] and "requires code owners' review" in result.notes[-1]


# --- CI -------------------------------------------------------------------------------------


def test_an_unrelated_green_status_is_not_ci(work: Path, gh: GitHubStandIn) -> None:
    sha = git(work, "rev-parse", "HEAD")
    gh.seed_pull(3, head_sha=sha, merge_commit_sha=sha, commits=[sha])
    gh.seed_status(sha, "codecov/patch", "success")  # no test ran
    assert problems(work, gh) == [
        f"required check(s) not green on {sha[:12]}: green missing: wait for green CI on that "
        "commit, or pass --skip-ci",
        f"the CI matrix's check green missing on {sha[:12]} (ci.yml's job running every nox -s "
        "prerelease session): wait for it, or pass --skip-prerelease",
    ]


def test_required_checks_from_branch_protection_and_rulesets(work: Path, gh: GitHubStandIn) -> None:
    sha = git(work, "rev-parse", "HEAD")
    seed_green(gh, work)
    gh.seed_required_checks("main", ["tests"])
    gh.protection.add_ruleset("main", checks=("lint",))
    gh.seed_check_run(sha, "lint", status="in_progress")
    assert problems(work, gh) == [
        f"required check(s) not green on {sha[:12]}: tests missing, lint pending: wait for "
        "green CI on that commit, or pass --skip-ci"
    ]
    gh.seed_status(sha, "tests", "success")
    gh.seed_check_run(sha, "lint", conclusion="failure")
    assert "lint failed" in problems(work, gh)[0]
    gh.seed_check_run(sha, "lint", conclusion="success")
    gh.seed_check_run(sha, "docs", conclusion="failure")  # not required, failing anyway
    assert problems(work, gh) == [
        f"CI is failure on {sha[:12]} (docs): wait for green CI, or pass --skip-ci"
    ]


def test_waived_gates_ask_nothing_and_a_refusal_is_one_line_each(
    work: Path, gh: GitHubStandIn
) -> None:
    everything = Options(skip_ci=True, skip_review=True, skip_prerelease=True)
    assert github_gates(context(work, gh, options=everything)).problems == []
    assert gh.requests == []
    with pytest.raises(PreflightError) as refused:
        preflight(context(work, gh))
    assert refused.value.exit_code == 3
    gates = [p for p in refused.value.problems if "green" in p or "pull request" in p]
    assert len(gates) == 3 and all("\n" not in p for p in gates)


# --- hotfix ---------------------------------------------------------------------------------


def hotfix_branch(work: Path) -> str:
    git(work, "tag", "-a", f"v{VERSION}", "-m", f"Release version {VERSION}")
    branch = f"hotfix/v{HOTFIX}"
    git(work, "checkout", "-q", "-b", branch)
    commit(work, "src/fix.py", "Fix the crash", branch)
    return branch


def test_a_hotfix_passes_the_same_gates_on_its_branch(work: Path, gh: GitHubStandIn) -> None:
    branch = hotfix_branch(work)
    seed_green(gh, work, ref=branch, base="main")  # approved, but into main: not this branch
    fix = git(work, "rev-parse", "HEAD")
    assert github_gates(context(work, gh, HOTFIX)).problems == [
        f"1 commit(s) reached {branch} without a merged pull request: {fix[:12]} 'Fix the "
        "crash': bring them through an approved pull request, or pass --skip-review"
    ]
    seed_green(gh, work, ref=branch, base=branch)
    assert github_gates(context(work, gh, HOTFIX)).problems == []


# --- which commits ----------------------------------------------------------------------------


def test_the_commits_since_the_previous_release_without_the_machinerys_own(
    work: Path, gh: GitHubStandIn
) -> None:
    git(work, "tag", "-a", f"v{VERSION}", "-m", f"Release version {VERSION}")
    own = commit(work, "CHANGELOG.md", f"Deploy v{VERSION}")  # a release's own file
    posing = commit(work, "src/evil.py", f"Deploy v{VERSION}")  # says so, changes code
    theirs = commit(work, "src/feature.py", "Add a feature")
    ctx = context(work, gh, "9.0.0")
    brought, ours = released_commits(ctx, theirs)
    assert [c.sha for c in brought] == [theirs, posing]
    assert [c.sha for c in ours] == [own]


def test_a_server_without_rulesets_is_one_with_none(work: Path, gh: GitHubStandIn) -> None:
    """GitHub Enterprise Server before 3.10 has no rules endpoint: 404, and the repository is
    there; the protection and the settings decide."""
    from release_engine.remotes.github.client import GitHubClient
    from release_engine.remotes.github.rules import GitHubRules

    gh.protection.protect("main", approvals=2, checks=("green",))
    gh.fail(404, path=r".*/rules/branches/.*")
    rules = GitHubRules(GitHubClient(gh.url, gh.repository, gh.token)).branch_rules("main")
    assert (rules.approvals, rules.checks, rules.sources) == (2, ("green",), ("branch protection",))
