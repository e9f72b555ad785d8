"""GitHubClient over real HTTP (urllib3) against the GitHub API stand-in."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from release_engine.errors import ConfigError, ConflictError, ReleaseError
from release_engine.redact import Secrets
from release_engine.remotes.github.client import CIState, GitHubClient, ReleaseInfo
from release_engine.remotes.github.http import LOGGER
from release_engine.standins.github_api import GitHubStandIn

REPO = "your-org/finbot"
RELEASES = f"/repos/{REPO}/releases"
SHA = "a" * 40
HEAD = "b" * 40


@pytest.fixture
def client(gh: GitHubStandIn) -> GitHubClient:
    return GitHubClient(gh.url, REPO, gh.token)


def release(
    client: GitHubClient,
    tag: str,
    *,
    prerelease: bool = False,
    latest: bool = True,
    body: str = "notes",
) -> ReleaseInfo:
    return client.create_release(
        tag, name=tag, body=body, prerelease=prerelease, make_latest=latest
    )


# --- releases --------------------------------------------------------------------------------


def test_observe_create_observe_makes_exactly_one_post(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    assert client.release_for_tag("v1.0.0") is None
    made = release(client, "v1.0.0", body="## [1.0.0]\n\n- Added things.")
    assert made == ReleaseInfo(
        id=made.id,
        tag="v1.0.0",
        name="v1.0.0",
        body="## [1.0.0]\n\n- Added things.",
        html_url=made.html_url,
        prerelease=False,
        draft=False,
    )
    assert made.html_url.endswith(f"/{REPO}/releases/tag/v1.0.0")
    assert client.release_for_tag("v1.0.0") == made
    assert gh.count("POST", RELEASES) == 1
    assert gh.count("GET", f"{RELEASES}/tags/v1.0.0") == 2


def test_a_second_create_for_the_tag_is_a_conflict(gh: GitHubStandIn, client: GitHubClient) -> None:
    release(client, "v1.0.0")
    with pytest.raises(ConflictError, match=r"already_exists .* your-org/finbot"):
        release(client, "v1.0.0")
    assert len(gh.releases()) == 1


def test_update_replaces_the_body_and_keeps_name_and_prerelease(client: GitHubClient) -> None:
    made = release(client, "v2.0.0rc1", prerelease=True, latest=False, body="old")
    updated = client.update_release(made.id, body="new", make_latest=False)
    assert (updated.body, updated.name, updated.prerelease) == ("new", "v2.0.0rc1", True)
    assert client.release_for_tag("v2.0.0rc1") == updated


def test_make_latest_on_create_and_update(client: GitHubClient) -> None:
    assert client.latest_release_tag() is None
    release(client, "v1.0.0")
    assert client.latest_release_tag() == "v1.0.0"
    release(client, "v1.1.0rc1", prerelease=True, latest=True)  # never latest
    assert client.latest_release_tag() == "v1.0.0"
    release(client, "v2.0.0")
    backport = release(client, "v1.0.1", latest=False)
    assert client.latest_release_tag() == "v2.0.0"
    client.update_release(backport.id, body="edited", make_latest=False)
    assert client.latest_release_tag() == "v2.0.0"
    client.update_release(backport.id, body="edited", make_latest=True)
    assert client.latest_release_tag() == "v1.0.1"


def test_update_of_a_missing_release_is_an_error(client: GitHubClient) -> None:
    with pytest.raises(ConfigError, match="404 Not Found for your-org/finbot while updating"):
        client.update_release(999, body="x", make_latest=False)


# --- CI state --------------------------------------------------------------------------------


def test_no_statuses_and_no_check_runs_is_none(client: GitHubClient) -> None:
    assert client.ci_state(SHA) == CIState("none", [], [])


def test_ci_state_combines_statuses_and_check_runs(gh: GitHubStandIn, client: GitHubClient) -> None:
    gh.seed_status(SHA, "ci/tests", "success")
    assert client.ci_state(SHA) == CIState("success")
    gh.seed_check_run(SHA, "lint", status="in_progress")
    gh.seed_status(SHA, "ci/docs", "pending")
    assert client.ci_state(SHA) == CIState("pending", [], ["ci/docs", "lint"])
    gh.seed_check_run(SHA, "build", conclusion="timed_out")
    gh.seed_status(SHA, "ci/tests", "error")
    assert client.ci_state(SHA) == CIState("failure", ["build", "ci/tests"], ["ci/docs", "lint"])


def test_check_runs_alone_count_and_reruns_supersede(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.seed_check_run(SHA, "tests", conclusion="failure")
    assert client.ci_state(SHA).state == "failure"
    gh.seed_check_run(SHA, "tests", conclusion="success")
    gh.seed_check_run(SHA, "optional", conclusion="skipped")
    gh.seed_check_run(SHA, "info", conclusion="neutral")
    assert client.ci_state(SHA) == CIState("success")


def test_the_release_job_does_not_wait_for_its_own_workflow_run(
    gh: GitHubStandIn, client: GitHubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gh.seed_check_run(SHA, "tests", conclusion="success", run_id=41)  # ci.yml, done
    gh.seed_check_run(SHA, "check", conclusion="success", run_id=42)  # release.yml, this run
    gh.seed_check_run(SHA, "release", status="in_progress", run_id=42)  # this very job
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert client.ci_state(SHA) == CIState("pending", [], ["release"])  # a laptop: it counts
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert client.ci_state(SHA) == CIState("success")  # its own run is left out
    monkeypatch.setenv("GITHUB_RUN_ID", "43")  # another run's job still counts
    assert client.ci_state(SHA) == CIState("pending", [], ["release"])


# --- reviews ---------------------------------------------------------------------------------


def test_approved_merged_pull_is_found_by_merge_commit_or_head(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    gh.seed_pull(12, head_sha=HEAD, merge_commit_sha=SHA, approved_by=["alice"])
    assert client.approved_pull_for(SHA) == 12
    assert client.approved_pull_for(HEAD) == 12
    assert client.approved_pull_for("c" * 40) is None
    assert client.approved_pull_for(SHA, base="release/1.x") is None


@pytest.mark.parametrize(
    ("merged", "approvers", "later", "expected"),
    [
        (False, ["alice"], [], None),
        (True, [], [], None),
        (True, [], [("bob", "COMMENTED")], None),
        (True, ["alice"], [("alice", "CHANGES_REQUESTED")], None),
        (True, ["alice"], [("alice", "CHANGES_REQUESTED"), ("alice", "APPROVED")], 5),
        (True, ["alice"], [("alice", "COMMENTED")], 5),
        (True, ["alice"], [("bob", "CHANGES_REQUESTED")], None),  # GitHub's decision
        (True, ["alice"], [("bob", "CHANGES_REQUESTED"), ("bob", "DISMISSED")], 5),
        (True, [], [("bob", "CHANGES_REQUESTED"), ("bob", "DISMISSED")], None),
    ],
)
def test_review_rules(
    gh: GitHubStandIn,
    client: GitHubClient,
    merged: bool,
    approvers: list[str],
    later: list[tuple[str, str]],
    expected: int | None,
) -> None:
    gh.seed_pull(
        5,
        head_sha=HEAD,
        merge_commit_sha=SHA if merged else None,
        merged=merged,
        approved_by=approvers,
    )
    for user, state in later:
        gh.seed_review(5, user, state)
    assert client.approved_pull_for(HEAD) == expected


# --- errors ----------------------------------------------------------------------------------


def test_bad_token_is_one_sentence_without_the_token(gh: GitHubStandIn) -> None:
    wrong = "ghp_wrongtoken0123456789"
    client = GitHubClient(gh.url, REPO, wrong)
    for call in (
        lambda: client.release_for_tag("v1"),
        client.latest_release_tag,
        lambda: client.ci_state(SHA),
        lambda: release(client, "v1"),
    ):
        with pytest.raises(ConfigError) as caught:
            call()
        assert str(caught.value) == (
            "GitHub answered 401 Bad credentials for your-org/finbot: check GITHUB_TOKEN"
        )
    assert gh.count("POST", RELEASES) == 1  # refused, never retried


def test_invisible_repository_is_not_mistaken_for_no_release(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, "your-org/elsewhere", gh.token)
    with pytest.raises(ConfigError, match="404 Not Found for your-org/elsewhere"):
        client.release_for_tag("v1.0.0")
    with pytest.raises(ConfigError, match="check github_repository"):
        client.latest_release_tag()


def test_repo_visibility_is_checked_once(gh: GitHubStandIn, client: GitHubClient) -> None:
    assert client.release_for_tag("v1") is None
    assert client.release_for_tag("v2") is None
    assert gh.count("GET", f"/repos/{REPO}") == 1


def test_unreachable_api_is_a_release_error(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token)
    gh.stop()
    with pytest.raises(ReleaseError, match=r"could not reach GitHub at http://127\.0\.0\.1:"):
        client.release_for_tag("v1")


@pytest.mark.parametrize(
    ("url", "repository", "token"),
    [
        ("http://127.0.0.1:9", "finbot", "t0ken"),
        ("http://127.0.0.1:9", "a/b/c", "t0ken"),
        ("http://127.0.0.1:9", "your-org/finbot", ""),
        ("api.github.com", "your-org/finbot", "t0ken"),  # no scheme: no request could use it
        ("ftp://127.0.0.1:9", "your-org/finbot", "t0ken"),
    ],
)
def test_bad_configuration_is_refused_before_any_request(
    url: str, repository: str, token: str
) -> None:
    with pytest.raises(ConfigError):
        GitHubClient(url, repository, token)


def test_debug_logging_never_shows_the_token(
    gh: GitHubStandIn, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    github_logger = logging.getLogger(LOGGER)
    before = github_logger.level
    github_logger.setLevel(logging.DEBUG)  # the client logs every request and its status
    caplog.set_level(logging.DEBUG)
    secrets = Secrets([gh.token, gh.token + "x"])  # what a run holds, and masks its logs with
    try:
        with secrets.masking_logs():
            client = GitHubClient(gh.url, REPO, gh.token)
            made = release(client, "v1.0.0")
            client.update_release(made.id, body="again", make_latest=True)
            client.ci_state(SHA)
            client.approved_pull_for(SHA)
            client.latest_release_tag()
            with pytest.raises(ConfigError):
                GitHubClient(gh.url, REPO, gh.token + "x").latest_release_tag()
            # Whatever a library may log one day: the filter redacts it where it is made.
            logging.getLogger(LOGGER).debug("Authorization: token %s", gh.token)
            logging.getLogger("urllib3.connectionpool").debug("header %s", gh.token)
    finally:
        github_logger.setLevel(before)
    out, err = capfd.readouterr()
    assert LOGGER in caplog.text and "urllib3.connectionpool" in caplog.text
    assert "POST http://127.0.0.1" in caplog.text
    for text in (caplog.text, out, err):
        assert gh.token not in text
    assert "Authorization: token ***" in caplog.text


# --- the client itself -----------------------------------------------------------------------


def test_the_client_imports_neither_pygithub_nor_requests() -> None:
    """What issue #23 removed from every dry run and status: the client is urllib3 alone."""
    code = (
        "import sys, release_engine.remotes.github.client, release_engine.remotes.github.assets, "
        "release_engine.remotes.github.pulls, release_engine.remotes.github.issues; "
        "print(sorted(m for m in ('github', 'requests') if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_pages_follow_the_link_header_and_keep_the_query(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, write_interval=0)
    for n in range(3):
        release(client, f"v1.0.{n}")
    listed = list(client.pages(f"/repos/{REPO}/releases", {"per_page": 2}))
    assert sorted(r["tag_name"] for r in listed) == ["v1.0.0", "v1.0.1", "v1.0.2"]
    assert gh.count("GET", RELEASES) == 2
    assert [e.query for e in gh.exchanges if e.method == "GET"][-1]["per_page"] == ["2"]


@pytest.fixture
def tls_github(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server under TLS answering any GET with a repository the token may push to: its
    URL, and the certificate (self-signed, so trusted by nothing until named)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True,
    )  # fmt: skip

    class Repository(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"id": 1, "permissions": {"push": True}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Repository)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/api/v3", cert
    finally:
        server.shutdown()
        server.server_close()


def test_a_private_ca_is_trusted_when_the_environment_names_its_bundle(
    tls_github: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = tls_github
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    untrusted = r"while reading the repository \(TLS: CERTIFICATE_VERIFY_FAILED \(self-signed"
    with pytest.raises(ReleaseError, match=untrusted):
        GitHubClient(url, REPO, "t0ken").can_push()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert GitHubClient(url, REPO, "t0ken").can_push() is True
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's own, as any client reads it
    assert GitHubClient(url, REPO, "t0ken").can_push() is True


def test_a_read_says_what_it_was_doing_or_what_github_answered(
    gh: GitHubStandIn, client: GitHubClient
) -> None:
    from release_engine.remotes.github.http import GitHubError
    from release_engine.standins.github_api import NOT_ACCESSIBLE

    gh.fail(403, times=4, path=f"/repos/{REPO}/pulls", body=NOT_ACCESSIBLE)
    with pytest.raises(ConfigError, match="GITHUB_TOKEN lacks 'pull-requests: read'"):
        client.get_json(f"/repos/{REPO}/pulls", doing="listing", permission="pull-requests: read")
    with pytest.raises(ConfigError, match="while listing: GITHUB_TOKEN lacks 'pull-requests"):
        list(
            client.pages(f"/repos/{REPO}/pulls", doing="listing", permission="pull-requests: read")
        )
    with pytest.raises(GitHubError) as caught:  # a ReleaseError: still one line, no token
        client.get_json(f"/repos/{REPO}/pulls")
    assert caught.value.status == 403 and caught.value.data == NOT_ACCESSIBLE
    said = "GitHub answered 403 Resource not accessible by integration"
    assert str(caught.value) == f"{said} for {gh.url}/repos/{REPO}/pulls"
    with pytest.raises(GitHubError):
        list(client.pages(f"/repos/{REPO}/pulls"))
