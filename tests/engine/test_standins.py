"""The GitHub API stand-in and the webhook sink, spoken to over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from release_engine.standins.github_api import GitHubStandIn
from release_engine.standins.sink import NotificationSink

REPO = "your-org/finbot"
API = f"/repos/{REPO}"
SHA = "a" * 40
DOCS = "https://docs.github.com/rest"


def call(
    standin: GitHubStandIn,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: str | None = "token",
    raw: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One raw request. *auth*: a scheme for the right token, a whole header, or None."""
    headers = {"Accept": "application/vnd.github+json"}
    if auth is not None:
        headers["Authorization"] = auth if " " in auth else f"{auth} {standin.token}"
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(standin.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def create(gh: GitHubStandIn, tag: str, **fields: Any) -> dict[str, Any]:
    status, body, _ = call(gh, "POST", f"{API}/releases", {"tag_name": tag, "name": tag, **fields})
    assert status == 201, body
    return body  # type: ignore[no-any-return]


def latest_tag(gh: GitHubStandIn) -> str | None:
    status, body, _ = call(gh, "GET", f"{API}/releases/latest")
    return body["tag_name"] if status == 200 else None


# --- GitHub API stand-in -------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, "token wrong", "Bearer wrong", "Basic", "token", "Bearer"])
def test_only_the_token_is_let_in(gh: GitHubStandIn, auth: str | None) -> None:
    status, body, headers = call(gh, "GET", API, auth=auth)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    if auth in ("token", "Bearer"):
        assert (status, body["full_name"], body["default_branch"]) == (200, REPO, "main")
    else:
        assert (status, body) == (401, {"message": "Bad credentials", "documentation_url": DOCS})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing"),
        ("GET", "/repos/other/repo/releases"),
        ("DELETE", f"{API}/releases/1"),
        ("GET", f"{API}/releases/tags/v9.9.9"),
        ("GET", f"{API}/releases/latest"),
        ("GET", f"{API}/releases/12345"),
        ("GET", f"{API}/pulls/7"),
        ("PATCH", f"{API}/releases/5"),
    ],
)
def test_unknown_things_are_github_shaped_404(gh: GitHubStandIn, method: str, path: str) -> None:
    status, body, _ = call(gh, method, path, {} if method == "PATCH" else None)
    assert (status, body) == (404, {"message": "Not Found", "documentation_url": DOCS})


def test_release_has_the_fields_a_client_reads(gh: GitHubStandIn) -> None:
    release = create(gh, "v1.0.0", body="## Notes", target_commitish=SHA)
    for key in (
        "id",
        "node_id",
        "url",
        "html_url",
        "assets_url",
        "upload_url",
        "tarball_url",
        "zipball_url",
        "created_at",
        "published_at",
        "author",
    ):
        assert release[key], key
    assert release["url"] == f"{gh.url}{API}/releases/{release['id']}"
    assert release["html_url"].endswith("/your-org/finbot/releases/tag/v1.0.0")
    assert (release["tag_name"], release["name"], release["target_commitish"]) == (
        "v1.0.0",
        "v1.0.0",
        SHA,
    )
    assert (release["body"], release["draft"], release["prerelease"]) == ("## Notes", False, False)
    assert (release["assets"], release["author"]["login"]) == ([], "release-bot")
    by_tag = call(gh, "GET", f"{API}/releases/tags/v1.0.0")[1]
    by_id = call(gh, "GET", f"{API}/releases/{release['id']}")[1]
    assert by_tag == by_id == release


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"tag_name": "v1.0.0"}, "tag_name", "already_exists"),
        ({"name": "x"}, "tag_name", "missing_field"),
        ({"tag_name": "v1", "make_latest": "maybe"}, "make_latest", "invalid"),
        ({"tag_name": "v1", "draft": "no"}, "draft", "invalid"),
    ],
)
def test_refused_releases_are_422_validation_failed(
    gh: GitHubStandIn, body: Any, field: str, code: str
) -> None:
    create(gh, "v1.0.0")
    status, answer, _ = call(gh, "POST", f"{API}/releases", body)
    assert (status, answer) == (
        422,
        {
            "message": "Validation Failed",
            "documentation_url": DOCS,
            "errors": [{"resource": "Release", "code": code, "field": field}],
        },
    )
    assert len(gh.releases()) == 1


def test_unparseable_json_is_400(gh: GitHubStandIn) -> None:
    status, body, _ = call(gh, "POST", f"{API}/releases", raw=b"{nope")
    assert (status, body["message"]) == (400, "Problems parsing JSON")


def test_patch_changes_only_what_is_sent(gh: GitHubStandIn) -> None:
    release = create(gh, "v1.1.0rc1", body="old", prerelease=True)
    status, body, _ = call(gh, "PATCH", f"{API}/releases/{release['id']}", {"body": "new"})
    assert status == 200
    assert (body["body"], body["prerelease"], body["name"]) == ("new", True, "v1.1.0rc1")
    call(gh, "GET", f"{API}/releases/tags/v1.1.0rc1?x=1")
    assert gh.requests == [
        ("POST", f"{API}/releases"),
        ("PATCH", f"{API}/releases/1"),
        ("GET", f"{API}/releases/tags/v1.1.0rc1"),
    ]
    assert gh.count("POST", f"{API}/releases") == 1
    assert gh.counts[("GET", f"{API}/releases/tags/v1.1.0rc1")] == 1


def test_make_latest_true_false_and_legacy(gh: GitHubStandIn) -> None:
    assert latest_tag(gh) is None
    create(gh, "v1.0.0")
    assert latest_tag(gh) == "v1.0.0"
    create(gh, "v2.0.0rc1", prerelease=True, make_latest="true")  # prereleases are never latest
    assert latest_tag(gh) == "v1.0.0"
    create(gh, "v2.0.0")  # make_latest defaults to "true"
    assert latest_tag(gh) == "v2.0.0"
    backport = create(gh, "v1.0.1", make_latest="false")
    assert latest_tag(gh) == "v2.0.0"
    call(gh, "PATCH", f"{API}/releases/{backport['id']}", {"make_latest": "true"})
    assert latest_tag(gh) == "v1.0.1"
    create(gh, "v2.1.0", make_latest="legacy")  # newest by date, then by version
    assert latest_tag(gh) == "v2.1.0"
    create(gh, "draft", draft=True, make_latest="true")
    assert latest_tag(gh) == "v2.1.0"


def test_legacy_breaks_date_ties_by_version(gh: GitHubStandIn) -> None:
    for tag in ("v1.10.0", "v1.9.0"):
        create(gh, tag, make_latest="legacy")
    with gh.state.lock:  # the same second, as on a fast machine
        for release in gh.state.data["releases"]:
            release["created_at"] = "2026-01-01T00:00:00Z"
    assert latest_tag(gh) == "v1.10.0"


def test_releases_list_is_newest_first_and_paginated(gh: GitHubStandIn) -> None:
    for n in range(3):
        create(gh, f"v0.{n}.0")
    status, page, headers = call(gh, "GET", f"{API}/releases?per_page=2")
    assert status == 200
    assert [r["tag_name"] for r in page] == ["v0.2.0", "v0.1.0"]
    assert 'rel="next"' in headers["Link"] and "page=2" in headers["Link"]
    _, page, headers = call(gh, "GET", f"{API}/releases?per_page=2&page=2")
    assert [r["tag_name"] for r in page] == ["v0.0.0"]
    assert 'rel="next"' not in headers["Link"] and 'rel="prev"' in headers["Link"]


def test_combined_status_takes_the_latest_per_context(gh: GitHubStandIn) -> None:
    empty = call(gh, "GET", f"{API}/commits/{SHA}/status")[1]  # GitHub says pending, not none
    assert (empty["state"], empty["total_count"], empty["statuses"]) == ("pending", 0, [])
    failed = {"state": "failure", "context": "ci"}
    status, made, _ = call(gh, "POST", f"{API}/statuses/{SHA}", failed)
    assert status == 201 and made["context"] == "ci" and made["state"] == "failure"
    gh.seed_status(SHA, "lint", "success")
    assert call(gh, "GET", f"{API}/commits/{SHA}/status")[1]["state"] == "failure"
    gh.seed_status(SHA, "ci", "success")
    combined = call(gh, "GET", f"{API}/commits/{SHA}/status")[1]
    assert (combined["state"], combined["total_count"], combined["sha"]) == ("success", 2, SHA)
    gh.seed_status(SHA, "deploy", "pending")
    assert call(gh, "GET", f"{API}/commits/{SHA}/status")[1]["state"] == "pending"
    bad = call(gh, "POST", f"{API}/statuses/{SHA}", {"state": "green"})
    assert bad[0] == 422 and bad[1]["errors"][0]["field"] == "state"


def test_check_runs_latest_per_name_unless_filter_all(gh: GitHubStandIn) -> None:
    gh.seed_check_run(SHA, "tests", conclusion="failure")
    gh.seed_check_run(SHA, "tests")
    gh.seed_check_run(SHA, "lint", status="in_progress")
    body = call(gh, "GET", f"{API}/commits/{SHA}/check-runs")[1]
    assert body["total_count"] == 2
    runs = {r["name"]: (r["status"], r["conclusion"]) for r in body["check_runs"]}
    assert runs == {"tests": ("completed", "success"), "lint": ("in_progress", None)}
    assert call(gh, "GET", f"{API}/commits/{SHA}/check-runs?filter=all")[1]["total_count"] == 3
    named = call(gh, "GET", f"{API}/commits/{SHA}/check-runs?check_name=lint")[1]
    assert [r["name"] for r in named["check_runs"]] == ["lint"]


def test_pulls_for_a_commit_and_their_reviews(gh: GitHubStandIn) -> None:
    gh.seed_pull(7, head_sha="b" * 40, merge_commit_sha=SHA, approved_by=["alice", "bob"])
    gh.seed_review(7, "carol", "CHANGES_REQUESTED")
    for sha in (SHA, "b" * 40):
        pulls = call(gh, "GET", f"{API}/commits/{sha}/pulls")[1]
        assert [p["number"] for p in pulls] == [7]
        assert "merged" not in pulls[0]  # the list shows "pull request simple" objects
    assert call(gh, "GET", f"{API}/commits/{'c' * 40}/pulls")[1] == []
    pull = call(gh, "GET", f"{API}/pulls/7")[1]
    assert (pull["merged"], pull["merge_commit_sha"], pull["base"]["ref"]) == (True, SHA, "main")
    assert pull["head"]["sha"] == "b" * 40 and pull["merged_at"]
    reviews = call(gh, "GET", f"{API}/pulls/7/reviews")[1]
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [
        ("alice", "APPROVED"),
        ("bob", "APPROVED"),
        ("carol", "CHANGES_REQUESTED"),
    ]


def test_concurrent_creates_make_exactly_one_release(gh: GitHubStandIn) -> None:
    with ThreadPoolExecutor(8) as pool:
        tags = [{"tag_name": "v3"}] * 8
        answers = pool.map(lambda tag: call(gh, "POST", f"{API}/releases", tag), tags)
        assert sorted(status for status, _, _ in answers) == [201] + [422] * 7
    assert len(gh.releases()) == 1


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "github.json"
    with GitHubStandIn(REPO, state_file=state) as first:
        create(first, "v1.0.0")
        create(first, "v1.1.0", make_latest="false")
        first.seed_pull(3, SHA, SHA)
        token, port = first.token, int(first.url.rsplit(":", 1)[1])
    first.stop()  # idempotent
    with socket.socket() as sock, pytest.raises(OSError):  # stopped means the port is closed
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))
    with GitHubStandIn(REPO, state_file=state, token=token) as second:
        assert second.token == token
        assert latest_tag(second) == "v1.0.0"
        assert [r["tag_name"] for r in second.releases()] == ["v1.1.0", "v1.0.0"]
        assert second.releases()[0]["url"].startswith(second.url)
        assert call(second, "GET", f"{API}/pulls/3")[0] == 200
        assert create(second, "v1.2.0")["id"] > 2


def test_standalone_command_serves_until_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    argv = [
        sys.executable,
        "-m",
        "release_engine.standins.github_api",
        "--port",
        "0",
        "--repository",
        REPO,
        "--token",
        "standalone-token-123",
        "--state",
        str(state),
    ]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            f"{url}{API}/releases",
            data=json.dumps({"tag_name": "v1.0.0"}).encode(),
            method="POST",
            headers={"Authorization": "Bearer standalone-token-123"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert json.loads(state.read_text())["releases"][0]["tag_name"] == "v1.0.0"


# --- notification sink ---------------------------------------------------------------------


def post(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_sink_records_json_posted_to_its_secret_url() -> None:
    with NotificationSink() as sink, NotificationSink() as other:
        assert sink.url != other.url
        assert len(sink.url.rsplit("/", 1)[1]) >= 20  # the URL is the secret
        assert post(sink.url, b'{"text": "released"}') == 200
        assert post(sink.url.rsplit("/", 1)[0] + "/guessed", b'{"text": "x"}') == 404
        assert post(sink.url, b"not json") == 400
        sink.fail_next(1, status=503)
        assert post(sink.url, b'{"text": "dropped"}') == 503
        assert [(r.path, r.body) for r in sink.received] == [
            (sink.url.split(str(sink.port), 1)[1], {"text": "released"})
        ]
        assert other.received == []


def test_sink_answers_like_a_slack_incoming_webhook() -> None:
    with NotificationSink() as sink:
        request = urllib.request.Request(sink.url, b'{"text": "t", "blocks": []}')
        with urllib.request.urlopen(request, timeout=10) as response:
            assert (response.status, response.read()) == (200, b"ok")
        assert [r.body for r in sink.received] == [{"text": "t", "blocks": []}]


def test_every_stand_in_that_keeps_connections_alive_answers_without_nagle() -> None:
    """A kept-alive answer is two writes (headers, body): with Nagle the body waits for the
    client's delayed ACK of the headers (40 ms on Linux), which no real service makes a
    client wait. Each HTTP/1.1 handler of the stand-ins sets TCP_NODELAY."""
    import importlib
    import pkgutil
    from http.server import BaseHTTPRequestHandler

    import release_engine.standins as package

    kept_alive = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseHTTPRequestHandler)
                and value.__module__ == module.__name__
                and value.protocol_version == "HTTP/1.1"
            ):
                kept_alive.append(value)
    assert len(kept_alive) >= 3, kept_alive  # GitHub, the registry's proxy, the token server
    assert [h for h in kept_alive if not h.disable_nagle_algorithm] == []
