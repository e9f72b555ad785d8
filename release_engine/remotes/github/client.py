"""GitHub, as the engine sees it: releases, CI state and reviews, over GitHub's REST API.

Every error GitHub answers, or the network's, becomes a :class:`ReleaseError` subclass
carrying one sentence that names the repository and never the token, and the permission the
token lacks when GitHub says so. Rate limits are waited for, within :data:`MAX_LIMIT_WAIT`
seconds in all for the command (the run's one client). The token travels in a header only;
the run's ``Secrets.masking_logs`` cleans the transport's and urllib3's log records.

A hand-written client of GitHub's documented REST API (:mod:`.http`, over urllib3), not
PyGithub: importing PyGithub cost 0.13-0.6 s of every ``inv release --dry-run`` and
``inv release.status`` (and requests, which it pulls in, 0.08-0.3 s more), and issue #23's
targets are ratios against semantic-release's no-op, which talks to GitHub with plain HTTP
sessions too. ``python -X importtime -c "import release_engine.remotes.github.client"``
(bytecode written; median of 11 on the 2 shared cores, 2026-12-07): 0.44 s with PyGithub,
0.18 s now, most of it urllib3 (and the ssl and http.client it needs).
Reads go through :meth:`GitHubClient.get_json` and :meth:`GitHubClient.pages` (every page,
following ``Link: rel="next"``).
"""

from __future__ import annotations

__all__ = ["MAX_LIMIT_WAIT", "CIState", "GitHubClient", "ReleaseInfo"]

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote

from urllib3.exceptions import HTTPError

from ...errors import ConfigError, ConflictError, ReleaseError
from ...proc import in_background, memoized
from .http import GitHubError, GitHubHTTP, RateLimited, next_link
from .remote import check_github
from .retry import MAX_LIMIT_WAIT, WRITE_BURST, WRITE_INTERVAL
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


def _info(release: dict[str, Any]) -> ReleaseInfo:
    """A release as GitHub's JSON describes it."""
    return ReleaseInfo(
        id=int(release["id"]),
        tag=str(release["tag_name"]),
        name=str(release.get("name") or ""),
        body=str(release.get("body") or ""),
        html_url=str(release["html_url"]),
        prerelease=bool(release.get("prerelease")),
        draft=bool(release.get("draft")),
    )


class GitHubClient:
    """The one repository *repository* ("owner/name") on the GitHub API at *api_url*.

    *max_wait* bounds the seconds spent waiting for rate limits; *write_interval* is the pause
    GitHub asks for between two writes once more than *write_burst* come at once.
    """

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str,
        *,
        max_wait: float = MAX_LIMIT_WAIT,
        write_interval: float = WRITE_INTERVAL,
        write_burst: int = WRITE_BURST,
    ) -> None:
        check_github(api_url, repository, token)
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.max_wait = max_wait
        self.http = GitHubHTTP(
            self.api_url,
            token,
            max_wait=max_wait,
            write_interval=write_interval,
            write_burst=write_burst,
        )
        self.path = f"/repos/{repository}"  # below the API: every request of this repository
        self._repo_seen = False

    # --- requests ----------------------------------------------------------------------
    def get_json(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        doing: str | None = None,
        permission: str = "",
    ) -> Any:
        """GitHub's JSON answer to ``GET`` *path* (below the API, or a URL it gave): one page.

        What GitHub refuses becomes the sentence naming the repository and *permission*
        (:meth:`_errors`) when *doing* says what this is, or when the caller asks inside
        ``_errors`` itself; else it is a :class:`~.http.GitHubError`, naming the status and
        the path, whose ``status`` and ``data`` the caller may read.
        """
        if doing is None:
            return self.http.request("GET", path, params=params)[0]
        with self._errors(doing, permission):
            return self.http.request("GET", path, params=params)[0]

    def pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        doing: str | None = None,
        permission: str = "",
    ) -> Iterator[Any]:
        """Every item of every page of ``GET`` *path*, 100 a page, following ``Link:
        rel="next"``; *key* names the list in an answer that wraps it (``check_runs``).
        Errors as :meth:`get_json` says."""
        if doing is None:
            yield from self._pages(path, params, key)
            return
        with self._errors(doing, permission):
            yield from self._pages(path, params, key)

    def _pages(self, path: str, params: dict[str, Any] | None, key: str | None) -> Iterator[Any]:
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url is not None:
            data, headers = self.http.request("GET", url, params=query)
            items = data.get(key) if key is not None and isinstance(data, dict) else data
            yield from items or []
            url, query = next_link(headers.get("Link")), None  # the link holds the query

    def _send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """GitHub's JSON answer to the write *method* *path* with the JSON *body*."""
        return self.http.request(method, path, json_body=body)[0]

    # --- errors ------------------------------------------------------------------------
    @contextmanager
    def _errors(self, doing: str, permission: str = "") -> Iterator[None]:
        """Turn what goes wrong while *doing* into one sentence; *permission* is the one
        the request needs (``contents: write``), named when GitHub says the token lacks it."""
        try:
            yield
        except GitHubError as exc:
            raise self._translate(exc, doing, permission) from None
        except HTTPError as exc:
            from ...netcause import cause

            raise ReleaseError(
                f"could not reach GitHub at {self.api_url} while {doing} ({cause(exc)}): "
                "check github_api_url and the network"
            ) from None

    def _repository_visible(self) -> bool:
        """Whether the token sees the repository (asked once; False also when unsure)."""
        if not self._repo_seen:
            try:
                self.get_json(self.path)
            except (GitHubError, HTTPError):
                return False
            self._repo_seen = True
        return True

    def _translate(self, exc: GitHubError, doing: str, permission: str = "") -> ReleaseError:
        data = exc.data
        message, said, repo = str(data.get("message") or ""), exc.said, self.repository
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

    def _missing(self, exc: GitHubError, doing: str, permission: str = "") -> None:
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
            data = self.get_json(self.path)
        self._repo_seen = True
        permissions = data.get("permissions") if isinstance(data, dict) else None
        return bool(permissions.get("push")) if isinstance(permissions, dict) else None

    # --- releases ----------------------------------------------------------------------
    def release_for_tag(self, tag: str) -> ReleaseInfo | None:
        """The published release for *tag*, or None (asked once while only observing)."""
        return memoized(self._key("release", tag), lambda: self._release_for_tag(tag))

    def _release_for_tag(self, tag: str) -> ReleaseInfo | None:
        doing = f"reading the release for {tag}"
        with self._errors(doing, "contents: read"):
            try:
                return _info(self.get_json(f"{self.path}/releases/tags/{quote(tag)}"))
            except GitHubError as exc:
                self._missing(exc, doing, "contents: read")
                return None

    def create_release(
        self, tag: str, *, name: str, body: str, prerelease: bool, make_latest: bool
    ) -> ReleaseInfo:
        """Publish a release for the existing *tag*; GitHub refuses a second one (ConflictError)."""
        latest = "true" if make_latest and not prerelease else "false"
        with self._errors(f"creating the release for {tag}", "contents: write"):
            return _info(self._send("POST", f"{self.path}/releases", {
                "tag_name": tag, "name": name, "body": body, "draft": False,
                "prerelease": prerelease, "make_latest": latest}))  # fmt: skip

    def update_release(
        self, release_id: int, *, body: str, make_latest: bool, name: str | None = None
    ) -> ReleaseInfo:
        """Replace the body (and *name*); *make_latest* also marks it latest (False: left alone)."""
        url = f"{self.path}/releases/{release_id}"
        with self._errors(f"updating release {release_id}", "contents: write"):
            current = _info(self.get_json(url))
            # name, draft and prerelease are sent again as they are (as PyGithub did)
            fields = {"name": name or current.name or current.tag, "body": body,
                      "draft": current.draft, "prerelease": current.prerelease}  # fmt: skip
            if make_latest:
                fields["make_latest"] = "true"
            return _info(self._send("PATCH", url, fields))

    def latest_release_tag(self) -> str | None:
        """The tag of the release GitHub shows as latest, or None when there is none."""
        return memoized(self._key("latest"), self._latest_release_tag)

    def _latest_release_tag(self) -> str | None:
        doing = "reading the latest release"
        with self._errors(doing, "contents: read"):
            try:
                return str(self.get_json(f"{self.path}/releases/latest")["tag_name"])
            except GitHubError as exc:
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
        doing, commit = f"reading CI results for {sha[:12]}", f"{self.path}/commits/{sha}"

        def check_runs() -> list[Any]:
            with self._errors(doing, "checks: read"):
                found = self.pages(f"{commit}/check-runs", key="check_runs")
                return [r for r in found if not _of_this_run(r.get("details_url"))]

        asking = in_background(check_runs)  # both at once: each is a round trip or more
        with self._errors(doing, "statuses: read"):  # every context's latest, page after page
            statuses = list(self.pages(f"{commit}/status", key="statuses"))
        runs = asking.result()
        done = [r for r in runs if r.get("status") == "completed"]
        failing = {s["context"] for s in statuses if s["state"] in ("error", "failure")}
        pending = {s["context"] for s in statuses if s["state"] == "pending"}
        failing |= {r["name"] for r in done if r.get("conclusion") in _FAILED}
        pending |= {r["name"] for r in runs if r.get("status") != "completed"}
        passed = {s["context"] for s in statuses if s["state"] == "success"}
        passed |= {r["name"] for r in done if r.get("conclusion") in _PASSED}
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

    def approved_pull_for(self, sha: str, base: str = "main") -> int | None:
        """A merged pull request into *base* whose merge commit or head is *sha* and whose
        review decision is approved as GitHub decides it (:func:`review_decision`); its
        number, or None."""
        return memoized(self._key("approved", sha, base), lambda: self._approved(sha, base))

    def _approved(self, sha: str, base: str) -> int | None:
        with self._errors(f"reading pull requests for {sha[:12]}", "pull-requests: read"):
            for pull in self.pages(f"{self.path}/commits/{sha}/pulls"):
                if pull["base"]["ref"] != base or pull.get("merged_at") is None:
                    continue
                if sha not in (pull.get("merge_commit_sha"), pull["head"]["sha"]):
                    continue
                reviews = [
                    Review(str((review.get("user") or {}).get("login") or ""), review["state"])
                    for review in self.pages(f"{self.path}/pulls/{pull['number']}/reviews")
                ]
                if review_decision(reviews, 1)[0] == "APPROVED":
                    return int(pull["number"])
        return None
