"""Pull requests on GitHub, as the engine opens, finds and merges them (a protected main).

The requests are GitHub's documented ones (docs.github.com/rest/pulls): ``GET /pulls`` with
``head=OWNER:BRANCH``, ``POST /pulls``, ``PUT /pulls/{n}/merge`` with ``merge_method=merge``
and the head sha the engine pushed. They go through the run's
:class:`~.client.GitHubClient`, whose requests and error translation they share.
"""

from __future__ import annotations

__all__ = ["MergeResult", "PullRequest", "Pulls"]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ReleaseError
from .http import GitHubError

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


def _pull(raw: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(raw["number"]),
        head=str(raw["head"]["ref"]),
        head_sha=str(raw["head"]["sha"]),
        base=str(raw["base"]["ref"]),
        state=str(raw["state"]),
        merged=raw.get("merged_at") is not None,  # the list's shape has merged_at, not merged
        html_url=str(raw["html_url"]),
    )


def _said(exc: GitHubError) -> str:
    data = exc.data
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
            query = {"state": state, "base": base, "head": f"{self.owner}:{head}"}
            found = self.client.pages(f"{self.client.path}/pulls", query)
            return [_pull(raw) for raw in found if raw["head"]["ref"] == head]

    def open(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request from *head* into *base*; the open one if GitHub says one exists."""
        doing = f"opening a pull request from {head} into {base}"
        with self.client._errors(doing):
            try:
                fields = {"base": base, "head": head, "title": title, "body": body}
                return _pull(self.client._send("POST", f"{self.client.path}/pulls", fields))
            except GitHubError as exc:
                if exc.status != 422 or "already exists" not in _said(exc):
                    raise
        opened = [p for p in self.find(head, base, "open")]
        if not opened:
            raise ReleaseError(f"GitHub says a pull request from {head} is open, but lists none")
        return opened[0]

    def merge(self, number: int, sha: str, title: str | None = None) -> MergeResult:
        """Merge pull request *number* with a merge commit, if its head is still *sha*."""
        with self.client._errors(f"merging pull request #{number}"):
            fields = {"merge_method": "merge", "sha": sha}
            if title:
                fields["commit_title"] = title
            try:
                done = self.client._send("PUT", f"{self.client.path}/pulls/{number}/merge", fields)
            except GitHubError as exc:
                if exc.status in (405, 409):  # not mergeable (yet) / head moved
                    return MergeResult(False, status=exc.status, message=_said(exc))
                raise
            sha, said = str(done.get("sha") or ""), str(done.get("message") or "")
            return MergeResult(bool(done.get("merged")), sha, 200, said)
