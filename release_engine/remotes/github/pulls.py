"""Pull requests on GitHub, as the engine opens, finds and merges them (a protected main).

The requests are GitHub's documented ones (docs.github.com/rest/pulls): ``GET /pulls`` with
``head=OWNER:BRANCH``, ``POST /pulls``, ``PUT /pulls/{n}/merge`` with ``merge_method=merge``
and the head sha the engine pushed. They go through the PyGithub repository of the run's
:class:`~.client.GitHubClient`, whose error translation they share.
"""

from __future__ import annotations

__all__ = ["MergeResult", "PullRequest", "Pulls"]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from github import GithubException
from github.GithubObject import NotSet

from ...errors import ReleaseError

if TYPE_CHECKING:
    from .client import GitHubClient


@dataclass(frozen=True)
class PullRequest:
    number: int
    head: str  # the head branch
    head_sha: str
    base: str
    state: str  # open or closed
    merged: bool
    html_url: str


@dataclass(frozen=True)
class MergeResult:
    """What ``PUT /pulls/{n}/merge`` answered: merged, or the status and message refusing it."""

    merged: bool
    sha: str = ""
    status: int = 200
    message: str = ""


def _pull(raw: Any) -> PullRequest:
    return PullRequest(
        number=raw.number,
        head=raw.head.ref,
        head_sha=raw.head.sha,
        base=raw.base.ref,
        state=raw.state,
        merged=raw.merged_at is not None,  # the list's shape has merged_at, not merged
        html_url=raw.html_url,
    )


def _said(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    messages = [str(e.get("message")) for e in data.get("errors", []) if isinstance(e, dict)]
    return "; ".join(m for m in [str(data.get("message") or ""), *messages] if m and m != "None")


class Pulls:
    """The pull requests of *client*'s repository."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        self.owner = client.repository.split("/")[0]

    def find(self, head: str, base: str, state: str = "all") -> list[PullRequest]:
        """Pull requests from branch *head* into *base* (``open``, ``closed`` or ``all``)."""
        with self.client._errors(f"listing pull requests from {head}"):
            found = self.client._repo.get_pulls(state=state, base=base, head=f"{self.owner}:{head}")
            return [_pull(raw) for raw in found if raw.head.ref == head]

    def open(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request from *head* into *base*; the open one if GitHub says one exists."""
        doing = f"opening a pull request from {head} into {base}"
        with self.client._errors(doing):
            try:
                raw = self.client._repo.create_pull(base=base, head=head, title=title, body=body)
                return _pull(raw)
            except GithubException as exc:
                if exc.status != 422 or "already exists" not in _said(exc):
                    raise
        opened = [p for p in self.find(head, base, "open")]
        if not opened:
            raise ReleaseError(f"GitHub says a pull request from {head} is open, but lists none")
        return opened[0]

    def merge(self, number: int, sha: str, title: str | None = None) -> MergeResult:
        """Merge pull request *number* with a merge commit, if its head is still *sha*."""
        with self.client._errors(f"merging pull request #{number}"):
            pull = self.client._repo.get_pull(number)
            try:
                status = pull.merge(
                    merge_method="merge", sha=sha, commit_title=title if title else NotSet
                )
            except GithubException as exc:
                if exc.status in (405, 409):  # not mergeable (yet) / head moved
                    return MergeResult(False, status=exc.status, message=_said(exc))
                raise
            return MergeResult(bool(status.merged), status.sha or "", 200, status.message or "")
