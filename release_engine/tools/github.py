"""GitHub, as the engine sees it: releases, CI state and reviews, through PyGithub.

Every PyGithub or transport error becomes a :class:`ReleaseError` subclass carrying one
sentence that names the repository and never the token. The token travels in a header only;
the run's ``Secrets.masking_logs`` cleans PyGithub's and urllib3's log records.
"""

from __future__ import annotations

__all__ = ["CIState", "GitHubClient", "ReleaseInfo"]

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import requests
from github import Auth, Github, GithubException, GitRelease
from github.GithubObject import NotSet
from urllib3.util.retry import Retry

from ..errors import ConfigError, ConflictError, ReleaseError

CIStateName = Literal["success", "pending", "failure", "none"]
_FAILED = {"failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale"}
# Connection failures are retried for any verb (nothing was sent); 5xx answers only for reads,
# so a POST that GitHub may have carried out is never sent twice: the engine re-observes.
_RETRY = Retry(
    total=2,
    connect=2,
    read=0,
    status=2,
    backoff_factor=0.25,
    raise_on_status=False,
    status_forcelist=(502, 503, 504),
    allowed_methods=frozenset({"GET"}),
)


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
    """The one repository *repository* ("owner/name") on the GitHub API at *api_url*."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository or ""):
            raise ConfigError(
                f"github_repository must look like owner/name, not {repository!r}: "
                "fix [tool.release] in pyproject.toml"
            )
        if not token:
            raise ConfigError("GITHUB_TOKEN is not set: export a token that may write releases")
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=30,
            user_agent="release-engine",
            retry=_RETRY,
            lazy=True,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        self._repo = self._gh.get_repo(repository)  # lazy: no request until one is needed
        self._repo_seen = False

    # --- errors ------------------------------------------------------------------------
    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            raise self._translate(exc, doing) from None
        except requests.RequestException as exc:
            raise ReleaseError(
                f"could not reach GitHub at {self.api_url} while {doing}: {type(exc).__name__}"
            ) from None

    def _translate(self, exc: GithubException, doing: str) -> ReleaseError:
        data = exc.data if isinstance(exc.data, dict) else {}
        said = f"{exc.status} {data.get('message') or exc.message or ''}".strip()
        repo = self.repository
        if exc.status == 401:
            return ConfigError(f"GitHub answered {said} for {repo}: check GITHUB_TOKEN")
        if exc.status == 403:
            return ConfigError(
                f"GitHub answered {said} for {repo} while {doing}: check that GITHUB_TOKEN "
                "may write to this repository (or wait for the rate limit to reset)"
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

    def _missing(self, exc: GithubException, doing: str) -> None:
        """A 404 on a release lookup means "none" only if the repository itself is visible."""
        if exc.status != 404:
            raise self._translate(exc, doing) from None
        if not self._repo_seen:
            with self._errors(f"reading {self.repository}"):
                self._gh.get_repo(self.repository).id  # noqa: B018 (lazy: this fetches it)
            self._repo_seen = True

    # --- releases ----------------------------------------------------------------------
    def release_for_tag(self, tag: str) -> ReleaseInfo | None:
        """The published release for *tag*, or None."""
        doing = f"reading the release for {tag}"
        with self._errors(doing):
            try:
                return _info(self._repo.get_release(tag))
            except GithubException as exc:
                self._missing(exc, doing)
                return None

    def create_release(
        self, tag: str, *, name: str, body: str, prerelease: bool, make_latest: bool
    ) -> ReleaseInfo:
        """Publish a release for the existing *tag*; GitHub refuses a second one (ConflictError)."""
        latest = "true" if make_latest and not prerelease else "false"
        with self._errors(f"creating the release for {tag}"):
            release = self._repo.create_git_release(
                tag, name=name, message=body, prerelease=prerelease, make_latest=latest
            )
            return _info(release)

    def update_release(
        self, release_id: int, *, body: str, make_latest: bool, name: str | None = None
    ) -> ReleaseInfo:
        """Replace the body (and *name*); *make_latest* also marks it latest (False: left alone)."""
        with self._errors(f"updating release {release_id}"):
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
        doing = "reading the latest release"
        with self._errors(doing):
            try:
                return self._repo.get_latest_release().tag_name
            except GithubException as exc:
                self._missing(exc, doing)
                return None

    # --- checks ------------------------------------------------------------------------
    def ci_state(self, sha: str) -> CIState:
        """Commit statuses (latest per context) and check runs (latest per name) of *sha*."""
        with self._errors(f"reading CI results for {sha[:12]}"):
            commit = self._repo.get_commit(sha)
            statuses = commit.get_combined_status().statuses
            runs = list(commit.get_check_runs())
        failing = {s.context for s in statuses if s.state in ("error", "failure")}
        pending = {s.context for s in statuses if s.state == "pending"}
        failing |= {r.name for r in runs if r.status == "completed" and r.conclusion in _FAILED}
        pending |= {r.name for r in runs if r.status != "completed"}
        state: CIStateName = (
            "none"
            if not statuses and not runs
            else "failure"
            if failing
            else "pending"
            if pending
            else "success"
        )
        return CIState(state, sorted(failing), sorted(pending))

    def approved_pull_for(self, sha: str, base: str = "main") -> int | None:
        """A merged pull request into *base* whose merge commit or head is *sha* and which a
        reviewer approved without requesting changes later; its number, or None."""
        with self._errors(f"reading pull requests for {sha[:12]}"):
            for pull in self._repo.get_commit(sha).get_pulls():
                if pull.base.ref != base or pull.merged_at is None:
                    continue
                if sha not in (pull.merge_commit_sha, pull.head.sha):
                    continue
                verdicts: dict[str, str] = {}
                for review in pull.get_reviews():
                    if review.state in ("APPROVED", "CHANGES_REQUESTED"):
                        login = review.user.login if review.user is not None else ""
                        verdicts[login] = review.state
                if "APPROVED" in verdicts.values():
                    return pull.number
        return None
