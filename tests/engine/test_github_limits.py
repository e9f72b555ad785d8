"""GitHub's rate limits, server errors, missing permissions and GitHub Enterprise's /api/v3,
through the engine's client (over urllib3) against the stand-in told to answer the way
GitHub documents."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from release_engine.errors import ConfigError, ReleaseError
from release_engine.remotes.github.client import CIState, GitHubClient
from release_engine.remotes.github.http import LOGGER
from release_engine.remotes.github.retry import WRITE_BURST, WRITE_INTERVAL
from release_engine.standins.github_api import (
    NOT_ACCESSIBLE,
    PRIMARY_RATE_LIMIT,
    SECONDARY_RATE_LIMIT,
    GitHubStandIn,
)
from release_engine.tools.keepachangelog import repository_url

REPO = "your-org/finbot"
API = f"/repos/{REPO}"
RELEASES = f"{API}/releases"
SHA = "a" * 40


@pytest.fixture
def client(gh: GitHubStandIn) -> GitHubClient:
    return GitHubClient(gh.url, REPO, gh.token, write_interval=0)


def create(client: GitHubClient, tag: str = "v1.0.0") -> None:
    client.create_release(tag, name=tag, body="notes", prerelease=False, make_latest=True)


def one_line(error: pytest.ExceptionInfo[ReleaseError], token: str) -> str:
    text = str(error.value)
    assert "\n" not in text and token not in text
    return text


# --- rate limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 403])
def test_a_limit_with_retry_after_is_waited_for(
    gh: GitHubStandIn, client: GitHubClient, status: int
) -> None:
    gh.fail(status, method="GET", headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client.release_for_tag("v1.0.0") is None
    assert time.monotonic() - started >= 1
    assert gh.count("GET", f"{RELEASES}/tags/v1.0.0") == 2


def test_a_limited_post_is_sent_again_once_the_limit_lifts(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.fail(403, method="POST", path=RELEASES, headers={"Retry-After": "1"})
    create(client)
    assert gh.count("POST", RELEASES) == 2  # the first was refused, not carried out
    assert [r["tag_name"] for r in gh.releases()] == ["v1.0.0"]


def test_remaining_zero_waits_until_the_reset(gh: GitHubStandIn, client: GitHubClient) -> None:
    reset = str(int(time.time()) + 1)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    gh.fail(403, headers=headers, body=PRIMARY_RATE_LIMIT)
    assert client.latest_release_tag() is None
    assert gh.count("GET", f"{RELEASES}/latest") == 2


def test_a_limit_lifting_later_than_the_bound_fails_at_once_in_one_line(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.fail(429, times=5, headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(ReleaseError) as caught:
        create(client)
    assert time.monotonic() - started < 5
    text = one_line(caught, gh.token)
    assert text.startswith(
        "GitHub's rate limit stopped creating the release for v1.0.0 in your-org/finbot (429): "
        "it lifts at "
    )
    assert "in 3600 s, past the 60 s a command waits: run the command again after then" in text
    assert gh.count("POST", RELEASES) == 1 and gh.releases() == []


def test_a_secondary_limit_without_headers_waits_a_minute_unless_that_is_too_long(
    gh: GitHubStandIn,
) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, max_wait=5)
    gh.fail(403, body=SECONDARY_RATE_LIMIT)
    with pytest.raises(ReleaseError) as caught:
        client.ci_state(SHA)
    assert "(403): it lifts at " in one_line(caught, gh.token)
    assert "in 60 s, past the 5 s a command waits" in str(caught.value)


def test_the_bound_counts_every_wait_of_a_command(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, max_wait=2.5)
    gh.fail(429, times=2, headers={"Retry-After": "2"})
    with pytest.raises(ReleaseError, match=r"in 2 s, past the 2 s a command waits"):
        client.release_for_tag("v1.0.0")  # 2 s waited, then 2 more would pass 2.5
    assert gh.count("GET", f"{RELEASES}/tags/v1.0.0") == 2


def test_the_bound_is_the_commands_not_each_requests(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, max_wait=1)
    gh.fail(429, headers={"Retry-After": "1"})
    assert client.release_for_tag("v1.0.0") is None  # 1 s waited
    gh.fail(429, headers={"Retry-After": "1"})
    with pytest.raises(ReleaseError, match=r"in 1 s, past the 1 s a command waits"):
        client.latest_release_tag()  # 1 s more would pass 1 s: not waited for
    assert gh.count("GET", f"{RELEASES}/latest") == 1


# --- server errors ---------------------------------------------------------------------------


def test_a_read_answered_502_is_sent_again(gh: GitHubStandIn, client: GitHubClient) -> None:
    gh.fail(502, times=2, method="GET", path=f"{API}/commits/{SHA}/status")
    assert client.ci_state(SHA) == CIState("none")
    assert gh.count("GET", f"{API}/commits/{SHA}/status") == 3


def test_a_post_answered_500_after_github_acted_is_not_sent_again(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.fail(500, method="POST", path=RELEASES, after=True)
    with pytest.raises(ReleaseError) as caught:
        create(client)
    assert one_line(caught, gh.token) == (
        "GitHub answered 500 Internal Server Error for your-org/finbot "
        "while creating the release for v1.0.0"
    )
    assert gh.count("POST", RELEASES) == 1
    found = client.release_for_tag("v1.0.0")  # what the step observes when the run resumes
    assert found is not None and found.body == "notes"


def test_a_patch_answered_502_is_not_sent_again(gh: GitHubStandIn, client: GitHubClient) -> None:
    create(client)
    release_id = gh.releases()[0]["id"]
    gh.fail(502, method="PATCH")
    with pytest.raises(ReleaseError, match="502 Bad Gateway for your-org/finbot while updating"):
        client.update_release(release_id, body="new", make_latest=False)
    assert gh.count("PATCH", f"{RELEASES}/{release_id}") == 1


def test_writes_past_a_burst_are_a_second_apart(
    gh: GitHubStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub's "wait at least one second between" writes, when there are many of them: the
    first WRITE_BURST go at once (a release makes about eight), each one after waits."""
    assert (WRITE_BURST, WRITE_INTERVAL) == (10, 1.0)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    client = GitHubClient(gh.url, REPO, gh.token, write_burst=2)
    started = time.monotonic()
    create(client, "v1.0.0")
    create(client, "v1.1.0")
    assert "before the next write" not in caplog.text  # a burst of two: no pause
    create(client, "v1.2.0")
    assert "before the next write" in caplog.text  # the third waits for the bucket
    assert time.monotonic() - started >= 1


# --- permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "permission", "call"),
    [
        (RELEASES, "contents: write", lambda c: create(c)),
        (f"{RELEASES}/tags/v1", "contents: read", lambda c: c.release_for_tag("v1")),
        (f"{RELEASES}/latest", "contents: read", lambda c: c.latest_release_tag()),
        (f"{API}/commits/{SHA}/status", "statuses: read", lambda c: c.ci_state(SHA)),
        (f"{API}/commits/{SHA}/check-runs", "checks: read", lambda c: c.ci_state(SHA)),
        (f"{API}/commits/{SHA}/pulls", "pull-requests: read", lambda c: c.approved_pull_for(SHA)),
    ],
)
def test_a_token_without_the_permission_is_told_which(
    gh: GitHubStandIn, client: GitHubClient, path: str, permission: str, call: object
) -> None:
    gh.fail(403, path=path, body=NOT_ACCESSIBLE)
    with pytest.raises(ConfigError) as caught:
        call(client)  # type: ignore[operator]
    text = one_line(caught, gh.token)
    assert text.startswith(
        "GitHub answered 403 Resource not accessible by integration for your-org/finbot while "
    )
    assert text.endswith(
        f": GITHUB_TOKEN lacks '{permission}'; grant it (the workflow's permissions, or the "
        "token's repository permissions) and run the command again"
    )
    assert gh.count("GET" if path != RELEASES else "POST", path) == 1  # not retried


def test_a_fine_grained_token_without_the_permission_is_told_which(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    body = {**NOT_ACCESSIBLE, "message": "Resource not accessible by personal access token"}
    gh.fail(403, path=f"{API}/pulls/.*", body=body)
    gh.seed_pull(3, head_sha="b" * 40, merge_commit_sha=SHA)
    with pytest.raises(ConfigError, match="GITHUB_TOKEN lacks 'pull-requests: read'"):
        client.approved_pull_for(SHA)


def test_a_fine_grained_token_cannot_read_check_runs_and_is_told_what_to_use(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    body = {**NOT_ACCESSIBLE, "message": "Resource not accessible by personal access token"}
    gh.fail(403, path=f"{API}/commits/{SHA}/check-runs", body=body)
    with pytest.raises(ConfigError) as caught:
        client.ci_state(SHA)
    assert one_line(caught, gh.token).endswith(
        "while reading CI results for aaaaaaaaaaaa: a fine-grained token cannot hold "
        "'checks: read'; use a classic token (scope repo) or the workflow's GITHUB_TOKEN, "
        "or waive the CI check with --skip-ci"
    )


def test_a_404_on_a_write_to_a_visible_repository_names_the_permission(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.fail(404, method="POST")
    with pytest.raises(ConfigError) as caught:
        create(client)
    assert one_line(caught, gh.token) == (
        "GitHub answered 404 Not Found for your-org/finbot while creating the release for "
        "v1.0.0: it is not there, or GITHUB_TOKEN lacks 'contents: write' on this repository"
    )


def test_a_404_on_the_repository_itself_says_check_github_repository(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, "your-org/elsewhere", gh.token, write_interval=0)
    with pytest.raises(ConfigError) as caught:
        create(client)
    assert one_line(caught, gh.token).endswith(
        ": check github_repository and that GITHUB_TOKEN can see the repository"
    )


def test_any_other_403_is_not_waited_for(gh: GitHubStandIn, client: GitHubClient) -> None:
    gh.fail(403, body={"message": "Must have admin rights to Repository.", "status": "403"})
    with pytest.raises(ConfigError) as caught:
        client.latest_release_tag()
    assert one_line(caught, gh.token) == (
        "GitHub answered 403 Must have admin rights to Repository. for your-org/finbot while "
        "reading the latest release: check that GITHUB_TOKEN has 'contents: read' on this "
        "repository"
    )
    assert gh.count("GET", f"{RELEASES}/latest") == 1


# --- GitHub Enterprise Server ----------------------------------------------------------------


@pytest.fixture
def ghes() -> Iterator[GitHubStandIn]:
    with GitHubStandIn(REPO, base_path="/api/v3") as standin:
        yield standin


def test_the_client_works_against_an_api_under_api_v3(ghes: GitHubStandIn) -> None:
    assert ghes.url.endswith("/api/v3")
    client = GitHubClient(ghes.url, REPO, ghes.token, write_interval=0)
    assert client.release_for_tag("v1.0.0") is None
    create(client)
    made = client.release_for_tag("v1.0.0")
    assert made is not None
    host = ghes.url.removesuffix("/api/v3")
    assert made.html_url == f"{host}/{REPO}/releases/tag/v1.0.0"  # web pages are not under it
    assert made.html_url.startswith(repository_url(REPO, ghes.url))
    assert client.latest_release_tag() == "v1.0.0"
    for n in range(105):  # more contexts than one page holds
        ghes.seed_status(SHA, f"ci/{n}", "success")
    ghes.seed_status(SHA, "ci/104", "failure")
    ghes.seed_check_run(SHA, "lint", status="in_progress")
    assert client.ci_state(SHA) == CIState("failure", ["ci/104"], ["lint"])
    assert ghes.count("GET", f"{API}/commits/{SHA}/status") == 2
    ghes.seed_pull(4, head_sha="b" * 40, merge_commit_sha=SHA)
    assert client.approved_pull_for(SHA) == 4
    assert {path for _, path in ghes.requests} <= {
        API,
        RELEASES,
        f"{RELEASES}/tags/v1.0.0",
        f"{RELEASES}/latest",
        f"{API}/commits/{SHA}/status",
        f"{API}/commits/{SHA}/check-runs",
        f"{API}/commits/{SHA}/pulls",
        f"{API}/pulls/4/reviews",
    }


def test_outside_api_v3_is_not_the_api(ghes: GitHubStandIn) -> None:
    client = GitHubClient(ghes.url.removesuffix("/api/v3"), REPO, ghes.token)
    with pytest.raises(ConfigError, match="404 Not Found for your-org/finbot"):
        client.latest_release_tag()
    assert ghes.requests == []


def test_a_base_path_must_look_like_one() -> None:
    from release_engine.errors import StandInError

    with pytest.raises(StandInError, match="the base path must look like /api/v3, not 'api'"):
        GitHubStandIn(REPO, base_path="api")
