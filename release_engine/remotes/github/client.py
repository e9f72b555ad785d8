"""GitHub, as the engine sees it: releases, CI state and reviews, through PyGithub.

Every PyGithub or transport error becomes a :class:`ReleaseError` subclass carrying one
sentence that names the repository and never the token, and the permission the token lacks
when GitHub says so. Rate limits are waited for, within :data:`MAX_LIMIT_WAIT` seconds in
all. The token travels in a header only; the run's ``Secrets.masking_logs`` cleans PyGithub's
and urllib3's log records.
"""

from __future__ import annotations

__all__ = ["MAX_LIMIT_WAIT", "CIState", "GitHubClient", "ReleaseInfo"]

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import requests
from github import Auth, Github, GithubException, GitRelease
from github.GithubObject import NotSet

from ...errors import ConfigError, ConflictError, ReleaseError
from ...proc import in_background, memoized
from .remote import check_github
from .retry import MAX_LIMIT_WAIT, WRITE_INTERVAL, RateLimited, github_retry
from .rules import Review, review_decision

CIStateName = Literal["success", "pending", "failure", "none"]
_PASSED = {"success", "neutral", "skipped"}  # what GitHub counts as a passing required check
_FAILED = {"failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale"}


@dataclass(frozen=True)
class ReleaseInfo:
    """A GitHub release as the engine needs it."""

    id: int
    tag: str
    name: str
    body: str
    html_url: str
    prerelease: bool
    draft: bool


@dataclass(frozen=True)
class CIState:
    """Combined commit statuses and check runs of one commit."""

    state: CIStateName
    failing: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    #: The checks and statuses that passed (success; a check run neutral or skipped too).
    passed: list[str] = field(default_factory=list, compare=False)


def _of_this_run(details_url: str | None) -> bool:
    """Whether a check run is a job of the GitHub Actions run this process is part of."""
    run = os.environ.get("GITHUB_RUN_ID") if os.environ.get("GITHUB_ACTIONS") == "true" else None
    return bool(run and details_url and f"/actions/runs/{run}/" in details_url)


def _info(release: GitRelease.GitRelease) -> ReleaseInfo:
    return ReleaseInfo(
        id=release.id,
        tag=release.tag_name,
        name=release.name or "",
        body=release.body or "",
        html_url=release.html_url,
        prerelease=release.prerelease,
        draft=release.draft,
    )


class GitHubClient:
    """The one repository *repository* ("owner/name") on the GitHub API at *api_url*.

    *max_wait* bounds the seconds spent waiting for rate limits; *write_interval* is the pause
    GitHub asks for between two writes.
    """

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str,
        *,
        max_wait: float = MAX_LIMIT_WAIT,
        write_interval: float = WRITE_INTERVAL,
    ) -> None:
        check_github(api_url, repository, token)
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.max_wait = max_wait
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=30,
            user_agent="release-engine",
            retry=github_retry(max_wait),
            lazy=True,
            seconds_between_requests=0,  # one request at a time already
            seconds_between_writes=write_interval,
        )
        self._repo = self._gh.get_repo(repository)  # lazy: no request until one is needed
        self._repo_seen = False

    # --- errors ------------------------------------------------------------------------
    @contextmanager
    def _errors(self, doing: str, permission: str = "") -> Iterator[None]:
        """Turn what goes wrong while *doing* into one sentence; *permission* is the one
        the request needs (``contents: write``), named when GitHub says the token lacks it."""
        try:
            yield
        except GithubException as exc:
            raise self._translate(exc, doing, permission) from None
        except requests.RequestException as exc:
            from ...netcause import cause

            raise ReleaseError(
                f"could not reach GitHub at {self.api_url} while {doing} ({cause(exc)}): "
                "check github_api_url and the network"
            ) from None

    def _repository_visible(self) -> bool:
        """Whether the token sees the repository (asked once; False also when unsure)."""
        if not self._repo_seen:
            try:
                self._gh.get_repo(self.repository).id  # noqa: B018 (lazy: this fetches it)
            except (GithubException, requests.RequestException):
                return False
            self._repo_seen = True
        return True

    def _translate(self, exc: GithubException, doing: str, permission: str = "") -> ReleaseError:
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "")
        said, repo = f"{exc.status} {message}".strip(), self.repository
        needs = repr(permission) if permission else "the permission this needs"
        if isinstance(exc, RateLimited):
            lifts = datetime.now(timezone.utc).timestamp() + exc.wait
            at = datetime.fromtimestamp(lifts, timezone.utc).strftime("%H:%M:%S UTC")
            return ReleaseError(
                f"GitHub's rate limit stopped {doing} in {repo} ({exc.status}): it lifts at {at}, "
                f"in {exc.wait:.0f} s, past the {self.max_wait:.0f} s a command waits: "
                "run the command again after then"
            )
        if exc.status == 401:
            return ConfigError(f"GitHub answered {said} for {repo}: check GITHUB_TOKEN")
        if permission == "checks: read" and "by personal access token" in message.lower():
            return ConfigError(  # GitHub offers fine-grained tokens no Checks permission
                f"GitHub answered {said} for {repo} while {doing}: a fine-grained token cannot "
                "hold 'checks: read'; use a classic token (scope repo) or the workflow's "
                "GITHUB_TOKEN, or waive the CI check with --skip-ci"
            )
        if exc.status in (403, 404) and "not accessible by" in message.lower():
            return ConfigError(
                f"GitHub answered {said} for {repo} while {doing}: GITHUB_TOKEN lacks "
                f"{needs}; grant it (the workflow's permissions, or the "
                "token's repository permissions) and run the command again"
            )
        if exc.status == 403:
            return ConfigError(
                f"GitHub answered {said} for {repo} while {doing}: check that GITHUB_TOKEN "
                f"has {needs} on this repository"
            )
        if exc.status == 404 and self._repository_visible():
            return ConfigError(
                f"GitHub answered 404 Not Found for {repo} while {doing}: it is not there, "
                f"or GITHUB_TOKEN lacks {needs} on this repository"
            )
        if exc.status == 404:
            return ConfigError(
                f"GitHub answered 404 Not Found for {repo} while {doing}: check "
                "github_repository and that GITHUB_TOKEN can see the repository"
            )
        codes = {e.get("code") for e in data.get("errors", []) if isinstance(e, dict)}
        if exc.status == 422 and "already_exists" in codes:
            return ConflictError(
                f"GitHub answered 422 already_exists while {doing} in {repo}: "
                "another release holds this tag"
            )
        return ReleaseError(f"GitHub answered {said} for {repo} while {doing}")

    def _missing(self, exc: GithubException, doing: str, permission: str = "") -> None:
        """A 404 on a lookup means "none" only if the repository itself is visible."""
        if exc.status != 404 or "not accessible by" in str(exc.data).lower():
            raise self._translate(exc, doing, permission) from None
        if not self._repository_visible():
            raise ConfigError(
                f"GitHub answered 404 Not Found for {self.repository} while {doing}: check "
                "github_repository and that GITHUB_TOKEN can see the repository"
            )

    def _key(self, *what: str) -> tuple[str, ...]:
        """What names one read of this repository, for :func:`~release_engine.proc.memoized`."""
        return ("github", self.api_url, self.repository, *what)

    # --- the repository ------------------------------------------------------------------
    def can_push(self) -> bool | None:
        """Whether the token may push to the repository, as ``GET /repos/{owner}/{repo}``'s
        ``permissions.push`` says; None when GitHub does not say (an app installation token,
        such as the workflow's ``GITHUB_TOKEN``, gets no ``permissions`` there)."""
        with self._errors("reading the repository", "metadata: read"):
            data = self._repo.raw_data  # lazy until now: this fetches it
        self._repo_seen = True
        permissions = data.get("permissions")
        return bool(permissions.get("push")) if isinstance(permissions, dict) else None

    # --- releases ----------------------------------------------------------------------
    def release_for_tag(self, tag: str) -> ReleaseInfo | None:
        """The published release for *tag*, or None (asked once while only observing)."""
        return memoized(self._key("release", tag), lambda: self._release_for_tag(tag))

    def _release_for_tag(self, tag: str) -> ReleaseInfo | None:
        doing = f"reading the release for {tag}"
        with self._errors(doing, "contents: read"):
            try:
                return _info(self._repo.get_release(tag))
            except GithubException as exc:
                self._missing(exc, doing, "contents: read")
                return None

    def create_release(
        self, tag: str, *, name: str, body: str, prerelease: bool, make_latest: bool
    ) -> ReleaseInfo:
        """Publish a release for the existing *tag*; GitHub refuses a second one (ConflictError)."""
        latest = "true" if make_latest and not prerelease else "false"
        with self._errors(f"creating the release for {tag}", "contents: write"):
            release = self._repo.create_git_release(
                tag, name=name, message=body, prerelease=prerelease, make_latest=latest
            )
            return _info(release)

    def update_release(
        self, release_id: int, *, body: str, make_latest: bool, name: str | None = None
    ) -> ReleaseInfo:
        """Replace the body (and *name*); *make_latest* also marks it latest (False: left alone)."""
        with self._errors(f"updating release {release_id}", "contents: write"):
            current = self._repo.get_release(release_id)
            # PyGithub sends name, draft and prerelease on every update: resend what they are.
            release = current.update_release(
                name=name or current.name or current.tag_name,
                message=body,
                draft=current.draft,
                prerelease=current.prerelease,
                make_latest="true" if make_latest else NotSet,
            )
            return _info(release)

    def latest_release_tag(self) -> str | None:
        """The tag of the release GitHub shows as latest, or None when there is none."""
        return memoized(self._key("latest"), self._latest_release_tag)

    def _latest_release_tag(self) -> str | None:
        doing = "reading the latest release"
        with self._errors(doing, "contents: read"):
            try:
                return self._repo.get_latest_release().tag_name
            except GithubException as exc:
                self._missing(exc, doing, "contents: read")
                return None

    # --- checks ------------------------------------------------------------------------
    def ci_state(self, sha: str) -> CIState:
        """Commit statuses (latest per context) and check runs (latest per name) of *sha*.

        Run on GitHub Actions, the jobs of the current workflow run are left out: the release
        job would otherwise wait for itself (it is a pending check run of the same commit).
        Asked once while only observing; a pull request waited for asks each time.
        """
        return memoized(self._key("ci", sha), lambda: self._ci_state(sha))

    def _ci_state(self, sha: str) -> CIState:
        doing, commit = f"reading CI results for {sha[:12]}", self._repo.get_commit(sha)

        def check_runs() -> list[Any]:
            with self._errors(doing, "checks: read"):
                return [r for r in commit.get_check_runs() if not _of_this_run(r.details_url)]

        asking = in_background(check_runs)  # both at once: each is a round trip or more
        with self._errors(doing, "statuses: read"):
            statuses = self._combined_statuses(sha)
        runs = asking.result()
        failing = {s["context"] for s in statuses if s["state"] in ("error", "failure")}
        pending = {s["context"] for s in statuses if s["state"] == "pending"}
        failing |= {r.name for r in runs if r.status == "completed" and r.conclusion in _FAILED}
        pending |= {r.name for r in runs if r.status != "completed"}
        passed = {s["context"] for s in statuses if s["state"] == "success"}
        passed |= {r.name for r in runs if r.status == "completed" and r.conclusion in _PASSED}
        state: CIStateName = (
            "none"
            if not statuses and not runs
            else "failure"
            if failing
            else "pending"
            if pending
            else "success"
        )
        return CIState(state, sorted(failing), sorted(pending), sorted(passed - failing - pending))

    def _combined_statuses(self, sha: str) -> list[dict[str, Any]]:
        """Every context's latest status: the combined status, page after page (PyGithub
        reads its first page only, 30 of them)."""
        url, page = f"/repos/{self.repository}/commits/{sha}/status", 1
        found: list[dict[str, Any]] = []
        while True:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", url, parameters={"per_page": 100, "page": page}
            )
            found += data.get("statuses") or []
            if not data.get("statuses") or len(found) >= int(data.get("total_count") or 0):
                return found
            page += 1

    def approved_pull_for(self, sha: str, base: str = "main") -> int | None:
        """A merged pull request into *base* whose merge commit or head is *sha* and whose
        review decision is approved as GitHub decides it (:func:`review_decision`); its
        number, or None."""
        return memoized(self._key("approved", sha, base), lambda: self._approved(sha, base))

    def _approved(self, sha: str, base: str) -> int | None:
        with self._errors(f"reading pull requests for {sha[:12]}", "pull-requests: read"):
            for pull in self._repo.get_commit(sha).get_pulls():
                if pull.base.ref != base or pull.merged_at is None:
                    continue
                if sha not in (pull.merge_commit_sha, pull.head.sha):
                    continue
                reviews = [
                    Review(review.user.login if review.user is not None else "", review.state)
                    for review in pull.get_reviews()
                ]
                if review_decision(reviews, 1)[0] == "APPROVED":
                    return pull.number
        return None
