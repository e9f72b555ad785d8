"""What tests and rehearsals give the GitHub stand-in that GitHub's API cannot create the same
way: commits with dates, pull requests and their reviews, check runs, statuses, required
checks, and a bare repository whose pull requests merge for real.

:class:`Seeding` is a base of :class:`~.github_api.GitHubStandIn`; every method holds the
state's lock, as a request does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import StandInError
from .github_pulls import PullRequests
from .github_state import GitHubState, Json

__all__ = ["Seeding"]


class Seeding:
    """The stand-in's seeding methods, over its :attr:`state` and :attr:`pulls`."""

    state: GitHubState
    pulls: PullRequests

    def seed_commit(self, sha: str, date: str, refs: Sequence[str] = ()) -> None:
        """Make *sha* (and the branch or tag names *refs*) a commit made at *date*
        (``2026-01-01T00:00:00Z``), as a repository without a git remote cannot show."""
        with self.state.lock:
            commits = self.state.data.setdefault("commits", {})
            for ref in (sha, *refs):
                commits[ref] = {"sha": sha, "date": date}
            self.state.save()

    def seed_pull(
        self,
        number: int,
        head_sha: str,
        merge_commit_sha: str | None,
        base: str = "main",
        merged: bool = True,
        approved_by: Sequence[str] = ("alice",),
        title: str = "",
        commits: Sequence[str] = (),
    ) -> None:
        """Add a pull request into *base*; each of *approved_by* leaves an APPROVED review.
        *commits*: the pull request's commits besides its head (GitHub associates each of
        them with it: ``GET /commits/{sha}/pulls``)."""
        with self.state.lock:
            self.state.add_pull(number, head_sha, merge_commit_sha, base, merged, title)
            self.state.data["pulls"][str(number)]["commits"] = list(commits)
            for login in approved_by:
                self.state.add_review(number, login, "APPROVED", None)

    def seed_review(self, number: int, user: str, state: str, commit_id: str | None = None) -> None:
        """Add a review (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED) to a seeded pull."""
        with self.state.lock:
            self.state.add_review(number, user, state, commit_id)

    def seed_check_run(
        self,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        *,
        run_id: int | None = None,
    ) -> None:
        """Add a check run for *sha*; a later run of the same name supersedes earlier ones.
        *run_id*: it is a job of that GitHub Actions workflow run."""
        with self.state.lock:
            self.state.add_check_run(sha, name, status, conclusion, run_id)

    def attach_git(self, git_dir: Path) -> None:
        """Serve pull requests of the bare repository *git_dir*: its branches are their heads,
        and merging one makes a real merge commit there."""
        with self.state.lock:
            self.pulls = PullRequests(self.state, git_dir)

    def protect_branch(self, branch: str = "main") -> None:
        """Refuse every ``git push`` to *branch* of the attached repository (GitHub's GH006):
        it changes only by merging a pull request."""
        with self.state.lock:
            if self.pulls.remote is None:
                raise StandInError("attach_git first: there is no repository to protect")
            self.pulls.remote.protect(branch)

    def seed_required_checks(self, branch: str, contexts: Sequence[str]) -> None:
        """Make *contexts* (status contexts or check run names) required to merge into *branch*."""
        with self.state.lock:
            self.state.data.setdefault("required_checks", {})[branch] = list(contexts)
            self.state.save()

    def pull_requests(self) -> list[Json]:
        """Every pull request, open or closed, as ``GET /pulls?state=all`` shows it."""
        with self.state.lock:
            return self.pulls.listed({"state": ["all"]})

    def seed_status(self, sha: str, context: str, state: str) -> None:
        """Add a commit status, as ``POST /repos/{o}/{r}/statuses/{sha}`` would."""
        with self.state.lock:
            self.state.add_status(sha, {"state": state, "context": context})
