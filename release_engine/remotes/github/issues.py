"""GitHub issues and the pull requests behind commits, for the rollback's root-cause issue.

Beside :class:`~.client.GitHubClient` (whose error translation, memo keys
and PyGithub repository these functions use), so that module stays about releases and checks:
``GET /repos/{o}/{r}/issues?labels=…&state=all`` finds an issue by its label (GitHub lists pull
requests as issues too: they are left out), ``POST /repos/{o}/{r}/issues`` opens one, and
``GET /repos/{o}/{r}/commits/{sha}/pulls`` names the pull requests that brought a commit.
"""

from __future__ import annotations

__all__ = ["IssueInfo", "PullInfo", "create_issue", "issues_labeled", "pulls_of_commit"]

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...proc import memoized

if TYPE_CHECKING:
    from .client import GitHubClient


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    html_url: str
    state: str


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    html_url: str


def issues_labeled(client: GitHubClient, label: str) -> list[IssueInfo]:
    """Every issue (open or closed, no pull request) carrying *label*, newest first."""
    return memoized(client._key("issues", label), lambda: _issues_labeled(client, label))


def _issues_labeled(client: GitHubClient, label: str) -> list[IssueInfo]:
    """Read page after page as GitHub sends them (PyGithub's Issue would fetch each issue
    again to learn that it has no ``pull_request``)."""
    url, page, found = f"/repos/{client.repository}/issues", 1, []
    params: dict[str, object] = {"state": "all", "labels": label, "per_page": 100}
    with client._errors(f"listing the issues labeled {label!r}", "issues: read"):
        while True:
            _, data = client._gh.requester.requestJsonAndCheck(
                "GET", url, parameters={**params, "page": page}
            )
            items = data if isinstance(data, list) else []
            found += [
                IssueInfo(int(i["number"]), str(i["title"]), str(i["html_url"]), str(i["state"]))
                for i in items
                if not i.get("pull_request")
            ]
            if len(items) < 100:
                return found
            page += 1


def create_issue(client: GitHubClient, title: str, body: str, labels: list[str]) -> IssueInfo:
    """Open an issue; GitHub drops the labels silently for a token that may not set them."""
    with client._errors(f"opening the issue {title!r}", "issues: write"):
        made = client._repo.create_issue(title, body=body, labels=labels)
        return IssueInfo(made.number, made.title, made.html_url, made.state)


def pulls_of_commit(client: GitHubClient, sha: str) -> list[PullInfo]:
    """The pull requests GitHub associates with the commit *sha* (merged or open)."""
    return memoized(client._key("pulls-of", sha), lambda: _pulls_of(client, sha))


def _pulls_of(client: GitHubClient, sha: str) -> list[PullInfo]:
    with client._errors(f"reading the pull requests of {sha[:12]}", "pull-requests: read"):
        pulls = client._repo.get_commit(sha).get_pulls()
        return [PullInfo(p.number, p.title, p.html_url) for p in pulls]
