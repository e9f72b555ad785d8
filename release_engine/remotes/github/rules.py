"""What GitHub itself requires of a branch, and what it says of a commit's pull requests.

The documented requests the release gates ask (docs.github.com/rest): a branch's protection
(``GET /repos/{o}/{r}/branches/{b}/protection``, readable by an administrator only), the
rules of its rulesets (``GET /repos/{o}/{r}/rules/branches/{b}``, readable with read access),
the pull requests closed into a branch, most recently updated first (``GET
/repos/{o}/{r}/pulls?state=closed&base=B&sort=updated``: a hundred a request), a pull
request's commits (``GET /repos/{o}/{r}/pulls/{n}/commits``), the pull requests associated
with one commit (``GET /repos/{o}/{r}/commits/{sha}/pulls``: the merged one that brought it),
and a pull request's reviews, in chronological order (``GET
/repos/{o}/{r}/pulls/{n}/reviews``). They go through the run's :class:`~.client.GitHubClient`
(its :meth:`~.client.GitHubClient.get_json` and :meth:`~.client.GitHubClient.pages`), whose
error translation they share.
"""

from __future__ import annotations

__all__ = ["BranchRules", "GitHubRules", "Pull", "Review", "review_decision"]

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...proc import in_background, memoized
from .http import GitHubError

if TYPE_CHECKING:
    from .client import GitHubClient


@dataclass(frozen=True)
class Review:
    """One review, as ``GET /pulls/{n}/reviews`` lists it."""

    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING


@dataclass(frozen=True)
class Pull:
    """A pull request as the list of a commit's pull requests shows it."""

    number: int
    base: str
    merged: bool
    head_sha: str
    merge_commit_sha: str


@dataclass(frozen=True)
class BranchRules:
    """What GitHub requires to merge into a branch: from its protection and its rulesets.

    *readable* is False when the protection could not be read (a token without admin: 403 or
    404); *unread* then says why. Rulesets are readable with read access.
    """

    approvals: int = 0
    code_owners: bool = False
    checks: tuple[str, ...] = ()
    readable: bool = True
    unread: str = ""
    sources: tuple[str, ...] = field(default=())


def _pull(p: dict[str, Any]) -> Pull:
    return Pull(
        number=int(p["number"]),
        base=str(p["base"]["ref"]),
        merged=p.get("merged_at") is not None,
        head_sha=str(p["head"]["sha"]),
        merge_commit_sha=str(p.get("merge_commit_sha") or ""),
    )


def _epoch(stamp: str | None) -> float:
    """GitHub's ``2026-12-07T06:31:42Z`` as seconds since the epoch (0 when absent)."""
    if not stamp:
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def review_decision(reviews: list[Review], required: int) -> tuple[str, str]:
    """GitHub's review decision over *reviews* (oldest first): ``APPROVED``,
    ``CHANGES_REQUESTED`` or ``REVIEW_REQUIRED``, and a few words saying why."""
    latest: dict[str, str] = {}
    for review in reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.login] = review.state
    blocking = sorted(login for login, state in latest.items() if state == "CHANGES_REQUESTED")
    approvers = sorted(login for login, state in latest.items() if state == "APPROVED")
    if blocking:
        return "CHANGES_REQUESTED", f"changes requested by {', '.join(blocking)}"
    if len(approvers) >= max(1, required):
        return "APPROVED", f"approved by {', '.join(approvers)}"
    return "REVIEW_REQUIRED", f"{len(approvers)} of {max(1, required)} required approval(s)"


class GitHubRules:
    """The reads of *client*'s repository the review and CI gates need."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    def _get(self, path: str, **parameters: Any) -> Any:
        return self.client.get_json(f"/repos/{self.client.repository}{path}", parameters)

    def _pages(self, path: str) -> list[Any]:
        return list(self.client.pages(f"/repos/{self.client.repository}{path}"))

    def branch_rules(self, branch: str) -> BranchRules:
        """The approvals, code-owner review and status checks *branch* requires (asked once)."""
        return memoized(self.client._key("rules", branch), lambda: self._branch_rules(branch))

    def _branch_rules(self, branch: str) -> BranchRules:
        quoted = quote(branch, safe="")
        approvals, owners, checks, sources = 0, False, list[str](), list[str]()
        readable, unread = True, ""
        rulesets = in_background(self._rulesets, branch)  # both at once: two round trips
        doing = f"reading the branch protection of {branch}"
        with self.client._errors(doing, "administration: read"):
            try:
                found = self._get(f"/branches/{quoted}/protection")
            except GitHubError as exc:
                data = exc.data
                message = str(data.get("message") or "")
                if exc.status == 404 and message == "Branch not protected":
                    found = None
                elif exc.status in (403, 404):
                    found, readable = None, False
                    unread = f"{exc.status} {message}".strip()
                else:
                    raise
        if found:
            sources.append("branch protection")
            reviews = found.get("required_pull_request_reviews") or {}
            approvals = int(reviews.get("required_approving_review_count") or 0)
            owners = bool(reviews.get("require_code_owner_reviews"))
            status = found.get("required_status_checks") or {}
            checks += [c["context"] for c in status.get("checks") or []]
            checks += list(status.get("contexts") or [])
        for rule in rulesets.result():
            params = rule.get("parameters") or {}
            if rule.get("type") == "pull_request":
                approvals = max(approvals, int(params.get("required_approving_review_count") or 0))
                owners = owners or bool(params.get("require_code_owner_review"))
            elif rule.get("type") == "required_status_checks":
                checks += [c["context"] for c in params.get("required_status_checks") or []]
            else:
                continue
            if "rulesets" not in sources:
                sources.append("rulesets")
        unique = tuple(dict.fromkeys(checks))
        return BranchRules(approvals, owners, unique, readable, unread, tuple(sources))

    def _rulesets(self, branch: str) -> list[Any]:
        quoted = quote(branch, safe="")
        with self.client._errors(f"reading the rulesets of {branch}", "metadata: read"):
            try:
                return self._pages(f"/rules/branches/{quoted}")
            except GitHubError as exc:
                if exc.status != 404 or not self.client._repository_visible():
                    raise
                return []  # a GitHub Enterprise Server older than rulesets (3.10)

    def pulls_for(self, sha: str) -> list[Pull]:
        """The pull requests GitHub associates with the commit *sha* (asked once)."""
        return memoized(self.client._key("pulls", sha), lambda: self._pulls_for(sha))

    def _pulls_for(self, sha: str) -> list[Pull]:
        with self.client._errors(f"reading pull requests for {sha[:12]}", "pull-requests: read"):
            found = self._get(f"/commits/{sha}/pulls", per_page=100)
        return [_pull(p) for p in found]

    def merged_by_commit(self, base: str, since: float) -> dict[str, Pull]:
        """The pull requests merged into *base* by their merge commit (the merge, squash or
        last rebased commit GitHub made), the most recently updated first, read until one was
        last updated before *since* (seconds since the epoch): a pull request merged later was
        updated later. Asked once."""
        key = self.client._key("merged", base, str(int(since)))
        return memoized(key, lambda: self._merged_by_commit(base, since))

    def _merged_by_commit(self, base: str, since: float) -> dict[str, Pull]:
        found: dict[str, Pull] = {}
        query = {"state": "closed", "base": base, "sort": "updated", "direction": "desc"}
        path = f"/repos/{self.client.repository}/pulls"
        with self.client._errors(f"listing pull requests into {base}", "pull-requests: read"):
            for p in self.client.pages(path, query):  # page after page, only as far as read
                if _epoch(p.get("updated_at")) < since:
                    break
                pull = _pull(p)
                if pull.merged and pull.merge_commit_sha:
                    found.setdefault(pull.merge_commit_sha, pull)
        return found

    def pull_commits(self, number: int) -> list[str]:
        """The commits of pull request *number*, as GitHub lists them (at most 250; asked
        once): those its head brought, which a rebase or squash merge copies under new ids."""
        key = self.client._key("commits", str(number))
        return memoized(key, lambda: [c["sha"] for c in self._commits(number)])

    def _commits(self, number: int) -> list[Any]:
        with self.client._errors(f"reading the commits of #{number}", "pull-requests: read"):
            return self._pages(f"/pulls/{number}/commits")

    def reviews(self, number: int) -> list[Review]:
        """Every review of pull request *number*, oldest first (asked once)."""
        return memoized(self.client._key("reviews", str(number)), lambda: self._reviews(number))

    def _reviews(self, number: int) -> list[Review]:
        with self.client._errors(f"reading the reviews of #{number}", "pull-requests: read"):
            found = self._pages(f"/pulls/{number}/reviews")
        return [
            Review(str((r.get("user") or {}).get("login") or ""), str(r.get("state") or ""))
            for r in found
        ]
