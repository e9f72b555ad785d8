"""Index credentials as the real services issue them: trusted publishing from a GitHub Actions
job, an API token, a username and password; and the preflight line that says which one.

A simulated Actions job (its environment, and its ID-token endpoint) and the rehearsal's real
pypiserver, whose front serves PyPI's ``/_/oidc/audience`` and ``/_/oidc/mint-token``; the
uploads are real twine uploads."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from release_engine.config import Credentials, ReleaseConfig
from release_engine.context import Options, ReleaseContext
from release_engine.engine import release
from release_engine.errors import CommandError, ConfigError, PreflightError, ReleaseError
from release_engine.output import ConsoleReporter
from release_engine.preflight import preflight
from release_engine.proc import run
from release_engine.rehearsal import StandIns, clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes import index
from release_engine.remotes.index.upload import Upload
from release_engine.standins.oidc import ActionsIdTokens
from release_engine.standins.pypi import PackageIndexStandIn
from release_engine.version import parse_version
from tests.engine.conftest import VERSION
from tests.engine.test_index import PROJECT, make_sdist, make_wheel

OIDC_VARS = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
AUDIENCE, MINT = "/_/oidc/audience", "/_/oidc/mint-token"


@pytest.fixture
def outside_actions(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", *OIDC_VARS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def job(monkeypatch: pytest.MonkeyPatch, outside_actions: None) -> Iterator[ActionsIdTokens]:
    """A job of rehearsal/release's release.yml granted ``id-token: write``, in which we run."""
    with ActionsIdTokens("rehearsal/release") as tokens:
        for name, value in tokens.env().items():
            monkeypatch.setenv(name, value)
        yield tokens


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[PackageIndexStandIn]:
    with PackageIndexStandIn(tmp_path / "index") as server:
        yield server


@pytest.fixture
def standins(tmp_path: Path, outside_actions: None) -> Iterator[StandIns]:
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        yield s


@pytest.fixture
def dists(tmp_path: Path) -> list[Path]:
    (tmp_path / "dist").mkdir()
    return [make_sdist(tmp_path / "dist", "0.1.0"), make_wheel(tmp_path / "dist", "0.1.0")]


def without_index_password(work: Path, s: StandIns) -> ReleaseContext:
    """The rehearsal's context with no TWINE_PASSWORD, as in a job that publishes by OIDC
    (fragments or none: what the preflight asks of the index is what these tests look at)."""
    ctx = rehearsal_context(work, parse_version(VERSION), s, options=Options(allow_empty=True))
    kept = {k: v for k, v in ctx.credentials.values.items() if k != "TWINE_PASSWORD"}
    ctx.credentials = Credentials({**kept, "TWINE_USERNAME": "__token__"})
    return ctx


def post_json(url: str, body: object) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- the whole release, from a simulated Actions job -----------------------------------------


@pytest.mark.e2e
def test_an_actions_job_publishes_through_trusted_publishing(
    source_repo: Path,
    tmp_path: Path,
    standins: StandIns,
    job: ActionsIdTokens,
    capfd: pytest.CaptureFixture[str],
) -> None:
    s = standins
    s.index.exchange.trust(job)
    ctx = without_index_password(clone_for_rehearsal(source_repo, tmp_path), s)
    report = release(ctx, ConsoleReporter())
    assert "index credentials: trusted publishing (GitHub Actions OIDC)" in report.notes
    built = sorted((ctx.dist_dir).iterdir())
    assert index.served_files(s.index.simple_url, PROJECT) == {
        p.name: index.sha256_of(p) for p in built
    }
    assert sorted(p.name for p in s.index.packages.iterdir()) == [p.name for p in built]
    # One exchange for the whole upload: the audience, the job's ID token, one mint; then
    # one real twine upload per file, each with the minted token as __token__'s password.
    assert (s.index.count("GET", AUDIENCE), job.requests, s.index.count("POST", MINT)) == (1, 1, 1)
    assert s.index.count("POST", "/") == 2 and job.refused == 0
    (minted,) = s.index.exchange.minted
    out, err = capfd.readouterr()
    assert "trusted publishing: GitHub Actions' OIDC token" in out + err
    for secret in (minted, job.request_token):
        assert secret not in out + err + s.index.log_text()


@pytest.mark.e2e
def test_outside_actions_without_a_password_the_preflight_refuses(
    source_repo: Path, tmp_path: Path, standins: StandIns
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    with pytest.raises(PreflightError) as caught:
        release(without_index_password(work, standins), ConsoleReporter())
    assert caught.value.problems == [
        "TWINE_PASSWORD is not set: export the package index's API token (with "
        "TWINE_USERNAME=__token__ or unset), or TWINE_USERNAME and TWINE_PASSWORD; on GitHub "
        "Actions, trusted publishing needs neither"
    ]
    assert standins.index.count("GET", AUDIENCE) == 0
    assert list(standins.index.packages.iterdir()) == []
    assert "release/" not in run(["git", "branch", "--list"], cwd=work).stdout


def test_the_preflight_prints_the_mode_it_will_use(
    source_repo: Path, tmp_path: Path, standins: StandIns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is asked of the index only: a project just released has no fragment waiting.
    empty = Options(allow_empty=True)
    ctx = rehearsal_context(
        clone_for_rehearsal(source_repo, tmp_path), parse_version(VERSION), standins, options=empty
    )
    assert (
        "index credentials: username and password "
        f"(TWINE_USERNAME {standins.index.username}, TWINE_PASSWORD)" in preflight(ctx)
    )
    ctx = rehearsal_context(ctx.repo, parse_version(VERSION), standins, options=empty)
    ctx.credentials = replace(
        ctx.credentials,
        values={
            **ctx.credentials.values,
            "TWINE_USERNAME": "__token__",
            "TWINE_PASSWORD": standins.index.api_token,
        },
    )
    assert "index credentials: API token (TWINE_USERNAME __token__, TWINE_PASSWORD)" in preflight(
        ctx
    )
    # A job without id-token: write has GITHUB_ACTIONS but no way to ask for an ID token: a
    # release is refused; a dry run (the workflow's check job), which uploads nothing, notes it.
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    no_oidc = without_index_password(ctx.repo, standins)
    with pytest.raises(PreflightError) as caught:
        preflight(no_oidc)
    (problem,) = caught.value.problems
    why = (
        "TWINE_PASSWORD is not set and this GitHub Actions job cannot request an OIDC token "
        "(ACTIONS_ID_TOKEN_REQUEST_URL is not set): give the job 'permissions: id-token: write' "
        "for trusted publishing, or export TWINE_PASSWORD"
    )
    assert problem == why
    notes = preflight(no_oidc, dry_run=True)
    assert "index credentials: trusted publishing (GitHub Actions OIDC)" in notes
    assert f"not in this dry run's job, which uploads nothing: {why}" in notes
    with pytest.raises(ConfigError) as refused:  # the upload's own guard, before any request
        Upload().act(no_oidc)
    assert str(refused.value) == why and standins.index.count("GET", AUDIENCE) == 0


# --- the exchange itself ---------------------------------------------------------------------


def test_the_exchange_follows_the_documented_requests(
    pypi: PackageIndexStandIn, job: ActionsIdTokens
) -> None:
    pypi.exchange.trust(job)
    token = index.mint_token(pypi.upload_url)
    assert token.startswith("pypi-") and pypi.exchange.minted == [token]
    assert (pypi.count("GET", AUDIENCE), job.requests, pypi.count("POST", MINT)) == (1, 1, 1)
    # The ID token GitHub gave was for the index's audience, and is good once only.
    jwt = job.issue("pypi")
    assert post_json(f"{pypi.url}_/oidc/mint-token", {"token": jwt})[0] == 200
    status, body = post_json(f"{pypi.url}_/oidc/mint-token", {"token": jwt})
    assert (status, body["errors"][0]["code"]) == (422, "invalid-reuse-token")
    assert post_json(f"{pypi.url}_/oidc/audience", {})[0] == 405


def test_a_wrong_request_token_is_one_line(
    pypi: PackageIndexStandIn, job: ActionsIdTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    pypi.exchange.trust(job)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-jobs-request-token")
    with pytest.raises(ReleaseError) as caught:
        index.mint_token(pypi.upload_url)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert message.startswith("GitHub Actions gave no OIDC token (GitHub: OIDC token request")
    assert "code=401" in message and message.endswith(
        "check the job's 'permissions: id-token: write', or export TWINE_PASSWORD"
    )
    assert "not-the-jobs-request-token" not in message
    assert (job.refused, job.requests, pypi.count("POST", MINT)) == (1, 0, 0)


@pytest.mark.parametrize(
    ("trusted", "reason"),
    [
        ({"workflow": "ci.yml"}, "invalid-publisher: valid token, but no corresponding publisher"),
        ({"environment": "pypi"}, "invalid-publisher: valid token, but no corresponding publisher"),
        (None, "invalid-token: malformed or invalid token"),  # a key the index does not trust
    ],
)
def test_a_jwt_the_index_refuses_is_one_line(
    pypi: PackageIndexStandIn, job: ActionsIdTokens, trusted: dict[str, str] | None, reason: str
) -> None:
    if trusted is not None:
        pypi.exchange.trust(job, **trusted)
    else:
        with ActionsIdTokens("rehearsal/release") as other:
            pypi.exchange.trust(other)
    with pytest.raises(ReleaseError) as caught:
        index.mint_token(pypi.upload_url)
    assert str(caught.value) == (
        f"the package index refused the trusted publishing exchange (422, {reason}"
        + (" (Publisher with matching claims was not found)" if "publisher" in reason else "")
        + "): check the project's trusted publisher on the index (owner, repository, workflow "
        "file, environment) against this job"
    )
    assert pypi.exchange.minted == [] and pypi.count("POST", MINT) == 1


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"token": "not-a-jwt"}, "malformed JWT"),
        ({"token": 7}, None),
        ({}, None),
    ],
)
def test_the_mint_endpoint_answers_pypis_error_shape(
    pypi: PackageIndexStandIn, body: dict[str, object], description: str | None
) -> None:
    status, answer = post_json(f"{pypi.url}_/oidc/mint-token", body)
    assert status == 422 and answer["message"] == "Token request failed"
    (error,) = answer["errors"]
    assert error["code"] == "invalid-payload" and set(error) == {"code", "description"}
    if description is not None:
        assert error["description"] == description


def test_an_index_without_trusted_publishing_is_one_line(job: ActionsIdTokens) -> None:
    elsewhere = f"http://127.0.0.1:{job.port}/legacy/"  # answers 404 for /_/oidc/audience
    with pytest.raises(ReleaseError) as caught:
        index.mint_token(elsewhere)
    assert str(caught.value) == (
        f"the package index answered 404 for http://127.0.0.1:{job.port}/_/oidc/audience: it "
        "has no trusted publishing; export TWINE_PASSWORD (an API token) instead"
    )
    assert job.requests == 0


# --- the index's side: tokens as upload passwords --------------------------------------------


def upload_as(pypi: PackageIndexStandIn, files: list[Path], user: str, password: str) -> None:
    run(
        index.upload_command(
            files, repository_url=pypi.upload_url, username=user, password=password
        )
    )


def test_a_minted_or_api_token_uploads_and_any_other_token_is_refused(
    pypi: PackageIndexStandIn, job: ActionsIdTokens, dists: list[Path]
) -> None:
    with pytest.raises(CommandError) as caught:
        upload_as(pypi, dists[:1], "__token__", "pypi-" + "x" * 60)
    assert "403" in str(caught.value) and "Invalid or non-existent authentication" in str(
        caught.value
    )
    upload_as(pypi, dists[:1], "__token__", pypi.api_token)  # the API token mode
    pypi.exchange.trust(job)
    upload_as(pypi, dists[1:], "__token__", index.mint_token(pypi.upload_url))  # trusted publishing
    assert index.served_files(pypi.simple_url, PROJECT) == {
        p.name: index.sha256_of(p) for p in dists
    }
    login = base64.b64encode(f"__token__:{pypi.api_token}".encode()).decode()
    assert login not in pypi.log_text() and pypi.api_token not in pypi.log_text()


# --- which login applies: every guard fires --------------------------------------------------

ACTIONS = {"GITHUB_ACTIONS": "true", OIDC_VARS[0]: "https://x/idtoken?v=1", OIDC_VARS[1]: "t"}
PYPI = "https://upload.pypi.org/legacy/"


@pytest.mark.parametrize(
    ("url", "user", "password", "env", "expected"),
    [
        (PYPI, "__token__", "pypi-abc", {}, ("api-token", "__token__", "pypi-abc", "")),
        (PYPI, None, "pypi-abc", ACTIONS, ("api-token", "__token__", "pypi-abc", "")),  # it wins
        ("https://nexus.example/repo/", "me", "pw", {}, ("password", "me", "pw", "")),
        (PYPI, "__token__", None, ACTIONS, ("trusted-publishing", "__token__", None, "")),
        ("http://127.0.0.1:9/", None, "", ACTIONS, ("trusted-publishing", "__token__", None, "")),
        (
            PYPI,
            None,
            None,
            {**ACTIONS, OIDC_VARS[1]: ""},
            (
                "trusted-publishing",
                "__token__",
                None,
                "TWINE_PASSWORD is not set and this GitHub "
                "Actions job cannot request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_TOKEN is not "
                "set): give the job 'permissions: id-token: write' for trusted publishing, or "
                "export TWINE_PASSWORD",
            ),
        ),
    ],
)
def test_the_login_each_set_of_credentials_makes(
    url: str,
    user: str | None,
    password: str | None,
    env: dict[str, str],
    expected: tuple[object, ...],
) -> None:
    assert tuple(index.choose_login(url, user, password, env)) == expected


@pytest.mark.parametrize(
    ("url", "user", "password", "env", "says"),
    [
        (PYPI, "me", "pw", {}, "upload.pypi.org takes no username and password for uploads"),
        (PYPI, "__token__", "abc", {}, "TWINE_PASSWORD is not an API token of upload.pypi.org"),
        (PYPI, None, None, {}, "TWINE_PASSWORD is not set: export the package index's API token"),
        (
            PYPI,
            None,
            "",
            {"GITHUB_ACTIONS": "false", **{k: "v" for k in OIDC_VARS}},
            "TWINE_PASSWORD is not set: export",
        ),
        (PYPI, "me", None, ACTIONS, "TWINE_USERNAME is me but TWINE_PASSWORD is not set"),
        ("http://index.example/", None, None, ACTIONS, "is not https: trusted publishing sends"),
    ],
)
def test_no_login_applies_is_one_line(
    url: str, user: str | None, password: str | None, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        index.choose_login(url, user, password, env)
    assert says in str(caught.value) and len(str(caught.value).splitlines()) == 1
    assert "pw" not in str(caught.value).split() and "abc" not in str(caught.value)


def test_credentials_from_the_environment_choose_the_same(job: ActionsIdTokens) -> None:
    config = ReleaseConfig(package=PROJECT, current_version="0.1.0", index_url=PYPI)
    creds = Credentials.from_env(config)
    user, password = creds.get("TWINE_USERNAME"), creds.get("TWINE_PASSWORD")
    login = index.choose_login(PYPI, user, password, os.environ)
    assert login.describe() == "trusted publishing (GitHub Actions OIDC)"
