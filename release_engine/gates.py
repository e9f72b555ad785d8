"""The pre-release checklist's GitHub gates, decided the way GitHub decides them.

* **Review.** Every commit the release brings to its base branch (``main``, or the hotfix
  branch) since the previous release (:mod:`release_engine.released_commits`) reached it
  through a merged pull request whose review decision is approved: the latest review of each
  reviewer counts (a comment changes nothing), a dismissed review drops out, any outstanding
  CHANGES_REQUESTED blocks, and the approvals the branch protection or rulesets require are
  there (``required_approvals`` when the token may not read the protection; one at least).
  Commits pushed without a pull request are named.
* **CI.** Each required check (the protection's or rulesets' required status checks, else
  ``required_checks``) is present and successful on the released commit, as a check run or a
  commit status; any other check failing or pending also stops the release. A green status of
  something else (``codecov/patch``) is not CI.
* **Prerelease.** The CI matrix's own required check (``prerelease_check``, ci.yml's
  ``green`` job) is green on the released commit. Only where no GitHub is configured is the
  local record of ``nox -s prerelease`` asked instead, and the report says so.
"""

from __future__ import annotations

__all__ = ["GateResult", "Requirements", "github_gates", "requirements", "review_decision"]

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ReleaseError
from .proc import in_background
from .released_commits import Commit, merged_side, released_commits
from .remotes.github.rules import BranchRules, GitHubRules, Pull, Review, review_decision

if TYPE_CHECKING:
    from .context import ReleaseContext
    from .remotes.github.client import CIState

_SHOWN = 3  # commits named in one line, at most
#: How much earlier than a commit's committer date its pull request may have been last
#: updated and still have brought it: the committer's clock is the committer's own.
_CLOCK_MARGIN = 86_400


@dataclass
class GateResult:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Requirements:
    """What merging into the base branch requires: approvals, checks, and where that was read."""

    approvals: int
    checks: tuple[str, ...]
    code_owners: bool
    source: str


def requirements(ctx: ReleaseContext, branch: BranchRules) -> Requirements:
    """GitHub's requirements where the token may read them; else ``[tool.release]``'s."""
    config, base = ctx.config, ctx.base_branch
    said = " and ".join(branch.sources) or "no branch protection or ruleset"
    if branch.readable:
        checks = branch.checks or config.required_checks
        where = said if branch.checks else f"{said}; checks from [tool.release] required_checks"
        return Requirements(max(1, branch.approvals), checks, branch.code_owners, where)
    checks = tuple(dict.fromkeys((*branch.checks, *config.required_checks)))
    approvals = max(1, branch.approvals, config.required_approvals)
    where = (
        f"the branch protection of {base} is not readable with this token ({branch.unread}): "
        f"[tool.release] required_approvals and required_checks"
        + (f", with the {said}" if branch.sources else "")
    )
    return Requirements(approvals, checks, branch.code_owners, where)


def _describe(need: Requirements, base: str) -> str:
    checks = ", ".join(need.checks) or "none"
    return (
        f"{base} requires {need.approvals} approval(s) and the checks {checks} (from {need.source})"
    )


def _named(commits: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{sha[:12]} {subject!r}" for sha, subject in commits[:_SHOWN])
    more = len(commits) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class _Reviewed:
    """What the review gate asks GitHub: the commits released, the pull request that brought
    each (None: none did), and each such pull request's reviews."""

    commits: list[Commit]
    pulls: dict[str, Pull | None]
    reviews: dict[int, list[Review]]


def _reviewed(ctx: ReleaseContext, sha: str, rules: GitHubRules) -> _Reviewed:
    commits, _ = released_commits(ctx, sha)
    pulls = _pulls_of(ctx, commits, rules)
    numbers = sorted({p.number for p in pulls.values() if p is not None})
    asked = {number: in_background(rules.reviews, number) for number in numbers}  # at once
    return _Reviewed(commits, pulls, {number: f.result() for number, f in asked.items()})


def review_problems(ctx: ReleaseContext, seen: _Reviewed, need: Requirements) -> list[str]:
    """One line per pull request whose decision is not approved, one naming direct pushes."""
    base = ctx.base_branch
    problems = []
    for number, reviews in seen.reviews.items():
        decision, why = review_decision(reviews, need.approvals)
        if decision != "APPROVED":
            problems.append(
                f"pull request #{number} into {base} is not approved ({why}; {base} requires "
                f"{need.approvals}): get it approved, or pass --skip-review"
            )
    direct = [(c.sha, c.subject) for c in seen.commits if seen.pulls.get(c.sha) is None]
    if direct:
        problems.append(
            f"{len(direct)} commit(s) reached {base} without a merged pull request: "
            f"{_named(direct)}: bring them through an approved pull request, or pass --skip-review"
        )
    return problems


def _pulls_of(
    ctx: ReleaseContext, commits: list[Commit], rules: GitHubRules
) -> dict[str, Pull | None]:
    """The merged pull request into the base branch that brought each of *commits* (newest
    first), or None for a commit no pull request brought.

    Asked with as few requests as GitHub allows: the pull requests merged into the base since
    the oldest commit, a page of a hundred at a time, give each merge, squash or last rebased
    commit its pull request; a merge commit covers the side it merged (read from git), and a
    pull request found covers the commits GitHub lists as its own. Only a commit none of that
    explains is asked about on its own (``GET /commits/{sha}/pulls``), as before: a direct push
    is known as one only from GitHub's own answer.
    """
    base, in_range = ctx.base_branch, {c.sha for c in commits}
    since = min((c.time for c in commits), default=0) - _CLOCK_MARGIN
    merged = rules.merged_by_commit(base, since) if commits else {}
    found: dict[str, Pull | None] = {}
    unexpanded: list[Pull] = []
    for commit in commits:
        if commit.sha in found:
            continue
        pull = merged.get(commit.sha)
        while pull is None and unexpanded and commit.sha not in found:
            brought = unexpanded.pop()  # the commits GitHub lists as this pull request's
            found |= {c: brought for c in rules.pull_commits(brought.number) if c in in_range}
        if pull is None and commit.sha in found:
            continue
        if pull is None:
            asked = [p for p in rules.pulls_for(commit.sha) if p.merged and p.base == base]
            pull = asked[0] if asked else None
        found[commit.sha] = pull
        if pull is None:
            continue
        unexpanded.append(pull)
        if pull.merge_commit_sha == commit.sha:
            found |= {c: pull for c in merged_side(ctx, commit) if c not in found}
    return found


def _check_states(ci: CIState, names: tuple[str, ...]) -> list[str]:
    said = []
    for name in names:
        if name in ci.failing:
            said.append(f"{name} failed")
        elif name in ci.pending:
            said.append(f"{name} pending")
        elif name not in ci.passed:
            said.append(f"{name} missing")
    return said


def ci_problems(
    ctx: ReleaseContext, sha: str, need: Requirements, ci: CIState | None = None
) -> list[str]:
    """The CI gate's and the prerelease gate's lines for the released commit *sha* (whose
    checks *ci* are, when they were asked already)."""
    assert ctx.github is not None
    ci = ci if ci is not None else ctx.github.ci_state(sha)
    base, options = ctx.base_branch, ctx.options
    problems = []
    if not options.skip_ci:
        if not need.checks:
            problems.append(
                f"no check is required on {base}: require CI's checks in its branch protection "
                "or a ruleset, or set [tool.release] required_checks, or pass --skip-ci"
            )
        said = _check_states(ci, need.checks)
        if said:
            problems.append(
                f"required check(s) not green on {sha[:12]}: {', '.join(said)}: "
                "wait for green CI on that commit, or pass --skip-ci"
            )
        others = [n for n in (*ci.failing, *ci.pending) if n not in need.checks]
        if others and ci.state != "success":
            problems.append(
                f"CI is {ci.state} on {sha[:12]} ({', '.join(others)}): "
                "wait for green CI, or pass --skip-ci"
            )
    if not options.skip_prerelease:
        check = ctx.config.prerelease_check
        said = _check_states(ci, (check,))
        if said:
            problems.append(
                f"the CI matrix's check {said[0]} on {sha[:12]} (ci.yml's job running every "
                "nox -s prerelease session): wait for it, or pass --skip-prerelease"
            )
    return problems


def github_gates(ctx: ReleaseContext) -> GateResult:
    """Ask GitHub the review, CI and prerelease gates for the base branch's commit."""
    result, options = GateResult(), ctx.options
    if ctx.github is None:
        return result  # no GitHub (the report says so), or its token's absence already is
    if options.skip_ci and options.skip_review and options.skip_prerelease:
        return result
    sha = ctx.git.rev(ctx.base_branch) or ""
    rules = GitHubRules(ctx.github)
    # The questions side by side: what the branch requires, the commits' pull requests and
    # their reviews, the checks.
    branch = in_background(rules.branch_rules, ctx.base_branch)
    asking = None if options.skip_review else in_background(_reviewed, ctx, sha, rules)
    checks = ctx.github.ci_state
    ci = None if options.skip_ci and options.skip_prerelease else in_background(checks, sha)
    try:
        need = requirements(ctx, branch.result())
        result.notes.append(_describe(need, ctx.base_branch))
        result.problems += ci_problems(ctx, sha, need, ci.result() if ci is not None else None)
        if asking is not None:
            result.problems += review_problems(ctx, asking.result(), need)
        if need.code_owners and not options.skip_review:
            result.notes.append(
                f"{ctx.base_branch} requires code owners' review: GitHub enforced it when "
                "each pull request was merged; the review gate counts approvals only"
            )
    except ReleaseError as exc:
        result.problems.append(str(exc))
    return result
