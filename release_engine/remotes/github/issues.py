"""GitHub issues and the pull requests behind commits, for the rollback's root-cause issue.

Beside :class:`~.client.GitHubClient` (whose requests, error translation and memo keys these
functions use), so that module stays about releases and checks:
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
    """Every page, as GitHub sends them (each issue says there whether it is a pull request)."""
    params = {"state": "all", "labels": label}
    with client._errors(f"listing the issues labeled {label!r}", "issues: read"):
        return [
            IssueInfo(int(i["number"]), str(i["title"]), str(i["html_url"]), str(i["state"]))
            for i in client.pages(f"{client.path}/issues", params)
            if not i.get("pull_request")
        ]


def create_issue(client: GitHubClient, title: str, body: str, labels: list[str]) -> IssueInfo:
    """Open an issue; GitHub drops the labels silently for a token that may not set them."""
    with client._errors(f"opening the issue {title!r}", "issues: write"):
        made = client._send("POST", f"{client.path}/issues",
                            {"title": title, "body": body, "labels": labels})  # fmt: skip
        return IssueInfo(int(made["number"]), str(made["title"]), str(made["html_url"]),
                         str(made["state"]))  # fmt: skip


def pulls_of_commit(client: GitHubClient, sha: str) -> list[PullInfo]:
    """The pull requests GitHub associates with the commit *sha* (merged or open)."""
    return memoized(client._key("pulls-of", sha), lambda: _pulls_of(client, sha))


def _pulls_of(client: GitHubClient, sha: str) -> list[PullInfo]:
    with client._errors(f"reading the pull requests of {sha[:12]}", "pull-requests: read"):
        pulls = client.pages(f"{client.path}/commits/{sha}/pulls")
        return [PullInfo(int(p["number"]), str(p["title"]), str(p["html_url"])) for p in pulls]
