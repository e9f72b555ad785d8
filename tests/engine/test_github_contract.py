"""The GitHub stand-in holds to GitHub's published OpenAPI description.

The engine's GitHubClient (over urllib3) and raw requests drive the stand-in through
what a release, a rehearsal and a rollback ask of GitHub; the stand-in records every exchange,
and every request (path and query parameters, body) and every answer (status, body) is
validated against ``openapi/github-subset.json``: the operations used, cut out of
github/rest-api-description by ``openapi/extract.py``, which records its version and date.
Then the semantics GitHub's docs state and a schema cannot: make_latest, check-run filters,
refs that are branches or tags, pagination.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)

from release_engine.errors import ConfigError, ConflictError
from release_engine.remotes.github.client import CIState, GitHubClient
from release_engine.standins.github_api import Exchange, GitHubStandIn

SUBSET = Path(__file__).with_name("openapi") / "github-subset.json"
REPO = "your-org/finbot"
API = f"/repos/{REPO}"
SHA, HEAD = "a" * 40, "b" * 40
Json = dict[str, Any]


#: What GitHub answers though its description leaves it out: 404 for a release id that is not
#: there (the description lists 200 and 401 only), with its usual basic-error body.
#: And 403 for a branch's protection read with a token that lacks administration, as GitHub
#: answers the workflow's token ("Resource not accessible by integration").
UNDESCRIBED = {
    ("GET", "/repos/{owner}/{repo}/releases/{release_id}", 404),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection", 403),
}


def _nullable_enums(node: Any) -> None:
    """OpenAPI 3.0.3 says ``nullable`` does not add null to an ``enum``; GitHub's description
    means it to (a check run in progress has ``"conclusion": null``, as its docs show)."""
    if isinstance(node, dict):
        if node.get("nullable") and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _nullable_enums(value)
    elif isinstance(node, list):
        for item in node:
            _nullable_enums(item)


@cache
def spec() -> Json:
    loaded: Json = json.loads(SUBSET.read_text(encoding="utf-8"))
    _nullable_enums(loaded)
    return loaded


def deref(node: Json) -> Json:
    """A parameter or response object, following its ``$ref`` into the components."""
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        node = spec()["components"][kind][name]
    return node


@cache
def templates() -> list[tuple[re.Pattern[str], str, int]]:
    found = []
    for path in spec()["paths"]:
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>{'.+' if m[1] == 'tag' else '[^/]+'})",
            path,
        )
        found.append((re.compile(pattern), path, path.count("{")))
    return found


def operation(method: str, path: str) -> tuple[str, Json, dict[str, str]] | None:
    """The described operation *method* *path* is, with its path parameters."""
    matches = [
        (params, template, match)
        for pattern, template, params in templates()
        if (match := pattern.fullmatch(path)) and method.lower() in spec()["paths"][template]
    ]
    if not matches:
        return None
    _, template, match = min(matches, key=lambda found: found[0])  # literal segments win
    return template, spec()["paths"][template][method.lower()], match.groupdict()


def schema_errors(schema: Json, instance: Any, *, read: bool) -> list[str]:
    root = {**schema, "components": spec()["components"]}
    kind = OAS30ReadValidator if read else OAS30WriteValidator
    validator = kind(root, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '.'}: {error.message[:200]}"
        for error in validator.iter_errors(instance)
    ]


def _coerce(value: str, schema: Json) -> Any:
    kind = deref(schema).get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def problems(exchange: Exchange) -> list[str]:
    """What in *exchange* GitHub's description does not allow."""
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    found = operation(exchange.method, exchange.path)
    if found is None:
        return [f"{where}: no such operation in GitHub's description"]
    template, op, path_args = found
    params = [deref(p) for p in spec()["paths"][template].get("parameters", [])]
    params += [deref(p) for p in op.get("parameters", [])]
    out: list[str] = []
    for param in params:
        name, place, schema = param["name"], param["in"], param.get("schema", {})
        given = path_args.get(name) if place == "path" else None
        if place == "query" and name in exchange.query:
            given = exchange.query[name][0]
        if given is None:
            if param.get("required"):
                out.append(f"{where}: the {place} parameter {name} is missing")
            continue
        for error in schema_errors(schema, _coerce(given, schema), read=False):
            out.append(f"{where}: {place} parameter {name}: {error}")
    declared = {p["name"] for p in params if p["in"] == "query"}
    out += [f"{where}: undocumented query parameter {q}" for q in exchange.query.keys() - declared]
    body = op.get("requestBody")
    if body is not None and exchange.request is not None:
        schema = body["content"]["application/json"]["schema"]
        out += [
            f"{where}: request {e}" for e in schema_errors(schema, exchange.request, read=False)
        ]
    elif body is not None and body.get("required"):
        out.append(f"{where}: the request has no body")
    elif body is None and exchange.request not in (None, {}):
        out.append(f"{where}: a body where none is described")
    if exchange.status == 401:  # GitHub describes 401 for few operations; its body, always
        response: Json | None = {"content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/basic-error"}}}}  # fmt: skip
    elif (exchange.method, template, exchange.status) in UNDESCRIBED and exchange.status == 403:
        response = {"content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/basic-error"}}}}  # fmt: skip
    elif (exchange.method, template, exchange.status) in UNDESCRIBED:
        response = {"$ref": "#/components/responses/not_found"}
    else:
        response = op["responses"].get(str(exchange.status)) or op["responses"].get("default")
    if response is None:
        return [*out, f"{where}: status {exchange.status} is not described for this operation"]
    content = deref(response).get("content", {}).get("application/json")
    if content is not None:
        errors = schema_errors(content["schema"], exchange.response, read=True)
        out += [f"{where}: response {error}" for error in errors]
    return out


def call(gh: GitHubStandIn, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        gh.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {gh.token}", "Accept": "application/vnd.github+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def assert_contract(gh: GitHubStandIn, expected: set[str]) -> None:
    """Every exchange so far is described, and the ones in *expected* (method + template +
    status) all happened."""
    seen, wrong = set(), []
    for exchange in gh.exchanges:
        wrong += problems(exchange)
        found = operation(exchange.method, exchange.path)
        if found is not None:
            seen.add(f"{exchange.method} {found[0]} {exchange.status}")
    assert wrong == []
    assert expected <= seen, sorted(expected - seen)


# --- the subset itself ---------------------------------------------------------------------


def test_the_subset_records_its_source_and_holds_every_operation_used() -> None:
    source = spec()["info"]["x-source"]
    assert source["repository"] == "https://github.com/github/rest-api-description"
    assert source["version"] and re.fullmatch(r"\d{4}-\d\d-\d\d", source["date"])
    assert spec()["openapi"].startswith("3.0.")
    listed = {
        f"{method.upper()} {path}"
        for path, item in spec()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert listed == set(source["operations"]) and len(listed) == 25


def test_the_checker_refuses_what_github_does_not_describe(gh: GitHubStandIn) -> None:
    bad = Exchange("POST", f"{API}/releases", {"per_page": ["x"]}, {"name": 3}, 201, {}, {})
    found = problems(bad)
    assert any("query parameter per_page" in p for p in found)
    assert any("request name: 3 is not of type 'string'" in p for p in found)
    assert any("request .: 'tag_name' is a required property" in p for p in found)
    assert any("response .: 'id' is a required property" in p for p in found)
    teapot = Exchange("GET", f"{API}/releases/latest", {}, None, 418, {}, {})
    assert problems(teapot) == [
        f"GET {API}/releases/latest -> 418: status 418 is not described for this operation"
    ]
    assert problems(Exchange("GET", "/nowhere", {}, None, 200, {}, {})) == [
        "GET /nowhere -> 200: no such operation in GitHub's description"
    ]


# --- the engine's requests and the stand-in's answers ---------------------------------------


def test_what_a_release_asks_of_github_is_as_described(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, write_interval=0)
    # preflight: CI and review of the released commit
    gh.seed_status(SHA, "ci/tests", "success")
    gh.seed_check_run(SHA, "lint")
    gh.seed_pull(7, head_sha=HEAD, merge_commit_sha=SHA, approved_by=["alice"])
    gh.seed_review(7, "bob", "COMMENTED")
    assert client.ci_state(SHA) == CIState("success")
    assert client.approved_pull_for(SHA) == 7
    # the github-release step: observe, create, observe, update; latest for a rollback
    assert client.release_for_tag("v1.0.0") is None
    made = client.create_release(
        "v1.0.0", name="v1.0.0", body="## [1.0.0]", prerelease=False, make_latest=True
    )
    assert client.release_for_tag("v1.0.0") == made
    client.update_release(made.id, body="## [1.0.0]\n\n- Fixed.", make_latest=True)
    client.create_release(
        "v1.1.0rc1", name="v1.1.0rc1", body="", prerelease=True, make_latest=False
    )
    assert client.latest_release_tag() == "v1.0.0"
    with pytest.raises(ConflictError):
        client.create_release("v1.0.0", name="x", body="", prerelease=False, make_latest=True)
    with pytest.raises(ConfigError):
        client.update_release(999, body="x", make_latest=False)
    # raw requests for what the engine reads through other paths
    assert call(gh, "POST", f"{API}/statuses/{SHA}", {"state": "pending", "context": "d"})[0] == 201
    assert call(gh, "GET", f"{API}/releases?per_page=1&page=2")[0] == 200
    assert call(gh, "GET", f"{API}/commits/{SHA}/check-runs?filter=all&status=completed")[0] == 200
    assert call(gh, "GET", f"{API}/commits/{SHA}/status?per_page=1&page=2")[0] == 200
    assert call(gh, "GET", f"{API}/pulls/7")[0] == 200
    assert call(gh, "GET", f"{API}/pulls?state=all")[0] == 200
    assert call(gh, "GET", f"{API}/pulls/8")[0] == 404
    assert call(gh, "GET", f"{API}/releases/tags/v9")[0] == 404
    assert_contract(
        gh,
        {
            "GET /repos/{owner}/{repo} 200",
            "GET /repos/{owner}/{repo}/commits/{ref}/status 200",
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs 200",
            "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls 200",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200",
            "GET /repos/{owner}/{repo}/pulls/{pull_number} 200",
            "GET /repos/{owner}/{repo}/pulls/{pull_number} 404",
            "GET /repos/{owner}/{repo}/pulls 200",
            "GET /repos/{owner}/{repo}/releases/tags/{tag} 200",
            "GET /repos/{owner}/{repo}/releases/tags/{tag} 404",
            "POST /repos/{owner}/{repo}/releases 201",
            "POST /repos/{owner}/{repo}/releases 422",
            "GET /repos/{owner}/{repo}/releases/{release_id} 200",
            "PATCH /repos/{owner}/{repo}/releases/{release_id} 200",
            "GET /repos/{owner}/{repo}/releases/latest 200",
            "GET /repos/{owner}/{repo}/releases 200",
            "POST /repos/{owner}/{repo}/statuses/{sha} 201",
        },
    )


def test_an_empty_repository_answers_as_described(gh: GitHubStandIn) -> None:
    client = GitHubClient(gh.url, REPO, gh.token, write_interval=0)
    assert client.latest_release_tag() is None
    assert client.ci_state(SHA) == CIState("none")
    assert client.approved_pull_for(SHA) is None
    assert_contract(
        gh,
        {
            "GET /repos/{owner}/{repo}/releases/latest 404",
            "GET /repos/{owner}/{repo}/commits/{ref}/status 200",
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs 200",
            "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls 200",
        },
    )


def test_what_the_gates_ask_of_github_is_as_described(gh: GitHubStandIn) -> None:
    from release_engine.remotes.github.rules import BranchRules, GitHubRules, Pull, Review

    rules = GitHubRules(GitHubClient(gh.url, REPO, gh.token, write_interval=0))
    assert rules.branch_rules("main") == BranchRules()  # 404 Branch not protected; no ruleset
    gh.seed_required_checks("main", ["green"])
    gh.protection.protect("main", approvals=2, code_owners=True)
    gh.protection.add_ruleset("main", checks=("lint",))
    gh.protection.add_ruleset("hotfix/*", approvals=1, checks=("tests",))
    assert rules.branch_rules("main") == BranchRules(
        2, True, ("green", "lint"), sources=("branch protection", "rulesets")
    )
    hotfix = rules.branch_rules("hotfix/v1.0.1")  # a branch name with a slash, quoted
    assert (hotfix.approvals, hotfix.checks, hotfix.sources) == (1, ("tests",), ("rulesets",))
    gh.protection.hide(403)
    unread = rules.branch_rules("main")
    assert not unread.readable and unread.unread == "403 Resource not accessible by integration"
    assert unread.checks == ("lint",)  # the rulesets are still read
    gh.protection.hide(404)
    assert rules.branch_rules("main").unread == "404 Not Found"
    gh.seed_pull(7, head_sha=HEAD, merge_commit_sha=SHA, commits=["c" * 40])
    gh.seed_review(7, "bob", "CHANGES_REQUESTED")
    assert rules.pulls_for("c" * 40) == [Pull(7, "main", True, HEAD, SHA)]
    assert rules.merged_by_commit("main", 0) == {SHA: Pull(7, "main", True, HEAD, SHA)}
    assert rules.merged_by_commit("main", 4e9) == {}  # updated before then: not read further
    assert rules.pull_commits(7) == ["c" * 40, HEAD]
    bob = gh.state.data["reviews"]["7"][-1]["id"]
    assert call(gh, "PUT", f"{API}/pulls/7/reviews/{bob}/dismissals", {"message": "old"})[0] == 200
    assert rules.reviews(7) == [Review("alice", "APPROVED"), Review("bob", "DISMISSED")]
    gh.seed_review(7, "dave", "COMMENTED")  # a comment cannot be dismissed
    dave = gh.state.data["reviews"]["7"][-1]["id"]
    assert call(gh, "PUT", f"{API}/pulls/7/reviews/{dave}/dismissals", {"message": "x"})[0] == 422
    assert call(gh, "PUT", f"{API}/pulls/7/reviews/999/dismissals", {"message": "x"})[0] == 404
    assert_contract(
        gh,
        {
            "GET /repos/{owner}/{repo}/branches/{branch}/protection 200",
            "GET /repos/{owner}/{repo}/branches/{branch}/protection 403",
            "GET /repos/{owner}/{repo}/branches/{branch}/protection 404",
            "GET /repos/{owner}/{repo}/rules/branches/{branch} 200",
            "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls 200",
            "GET /repos/{owner}/{repo}/pulls 200",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}/commits 200",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200",
            "PUT /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 200",
            "PUT /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 404",
            "PUT /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 422",
        },
    )


def test_the_rollback_issue_opened_and_found_by_label_is_as_described(gh: GitHubStandIn) -> None:
    """The root-cause issue: listed by label (state all: a closed one counts), opened once,
    pull requests (which GitHub lists as issues) left out; and the pulls of a commit."""
    from release_engine.remotes.github.issues import create_issue, issues_labeled, pulls_of_commit

    client = GitHubClient(gh.url, REPO, gh.token, write_interval=0)
    gh.seed_pull(7, head_sha=HEAD, merge_commit_sha=SHA, title="Add the feature")
    assert issues_labeled(client, "rollback") == []
    made = create_issue(client, "Investigate the rollback of v1.1.0", "body", ["rollback"])
    assert made.number != 7 and made.html_url.endswith(f"/issues/{made.number}")
    create_issue(client, "Something else", "", ["bug"])
    assert issues_labeled(client, "rollback") == [made]
    assert [p.number for p in pulls_of_commit(client, SHA)] == [7]
    listed = call(gh, "GET", f"{API}/issues?state=all&per_page=100")[1]
    assert {i["number"] for i in listed if "pull_request" in i} == {7}
    assert call(gh, "GET", f"{API}/issues?labels=rollback,bug")[1] == []
    assert [i["number"] for i in call(gh, "GET", f"{API}/issues?state=closed")[1]] == [7]
    assert_contract(
        gh,
        {
            "GET /repos/{owner}/{repo}/issues 200",
            "POST /repos/{owner}/{repo}/issues 201",
            "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls 200",
        },
    )


# --- semantics the docs state ----------------------------------------------------------------


def latest(gh: GitHubStandIn) -> str | None:
    status, body = call(gh, "GET", f"{API}/releases/latest")
    return body["tag_name"] if status == 200 else None


def create(gh: GitHubStandIn, tag: str, **fields: Any) -> Json:
    status, body = call(gh, "POST", f"{API}/releases", {"tag_name": tag, **fields})
    assert status == 201, body
    return body  # type: ignore[no-any-return]


def test_legacy_latest_goes_by_the_date_of_the_tags_commit_then_the_version(
    gh: GitHubStandIn,
) -> None:
    gh.seed_commit("1" * 40, "2026-03-01T00:00:00Z", refs=["v2.0.0"])
    gh.seed_commit("2" * 40, "2026-01-01T00:00:00Z", refs=["v1.0.1"])  # a backport, made later
    gh.seed_commit("3" * 40, "2026-03-01T00:00:00Z", refs=["v1.9.0"])  # same day as v2.0.0
    assert create(gh, "v2.0.0", make_latest="legacy")["created_at"] == "2026-03-01T00:00:00Z"
    create(gh, "v1.0.1", make_latest="legacy")
    assert latest(gh) == "v2.0.0"  # created later, but its commit is older
    create(gh, "v1.9.0", make_latest="legacy")
    assert latest(gh) == "v2.0.0"  # the same date: the higher version
    create(gh, "v1.0.2", make_latest="true")  # no known commit: made now, and marked anyway
    assert latest(gh) == "v1.0.2"
    draft = create(gh, "v3.0.0", draft=True)
    assert latest(gh) == "v1.0.2"
    call(gh, "PATCH", f"{API}/releases/{draft['id']}", {"draft": False})
    assert latest(gh) == "v3.0.0"  # "true" is the default for a newly published release
    assert_contract(gh, {"PATCH /repos/{owner}/{repo}/releases/{release_id} 200"})


def test_check_runs_by_sha_branch_or_tag_latest_of_each_name(gh: GitHubStandIn) -> None:
    gh.seed_commit(SHA, "2026-01-01T00:00:00Z", refs=["main", "v1.0.0"])
    gh.seed_check_run(SHA, "tests", conclusion="failure")
    gh.seed_check_run(SHA, "tests", conclusion="success")
    gh.seed_check_run(SHA, "lint", status="queued")
    for ref in (SHA, "main", "v1.0.0"):
        status, body = call(gh, "GET", f"{API}/commits/{ref}/check-runs")
        assert status == 200
        assert [(r["name"], r["conclusion"]) for r in body["check_runs"]] == [
            ("lint", None),
            ("tests", "success"),
        ]
        assert body["total_count"] == 2
    assert call(gh, "GET", f"{API}/commits/main/check-runs?filter=all")[1]["total_count"] == 3
    gh.seed_status(SHA, "ci", "success")
    combined = call(gh, "GET", f"{API}/commits/v1.0.0/status")[1]
    assert (combined["sha"], combined["state"], combined["total_count"]) == (SHA, "success", 1)
    client = GitHubClient(gh.url, REPO, gh.token)
    assert client.ci_state("main") == CIState("pending", [], ["lint"])
    assert_contract(gh, {"GET /repos/{owner}/{repo}/commits/{ref}/check-runs 200"})


def test_the_combined_status_is_paginated_like_githubs(gh: GitHubStandIn) -> None:
    for n in range(5):
        gh.seed_status(SHA, f"ci/{n}", "success")
    gh.seed_status(SHA, "ci/4", "failure")
    status, first = call(gh, "GET", f"{API}/commits/{SHA}/status?per_page=2")
    assert status == 200
    assert (first["state"], first["total_count"]) == ("failure", 5)  # over every context
    assert [s["context"] for s in first["statuses"]] == ["ci/0", "ci/1"]
    last = call(gh, "GET", f"{API}/commits/{SHA}/status?per_page=2&page=3")[1]
    assert [s["context"] for s in last["statuses"]] == ["ci/4"]
    links = [e.headers.get("Link", "") for e in gh.exchanges]
    assert 'rel="next"' in links[0] and 'rel="last"' in links[0] and "page=3" in links[0]
    assert 'rel="next"' not in links[1] and 'rel="prev"' in links[1]
    assert_contract(gh, {"GET /repos/{owner}/{repo}/commits/{ref}/status 200"})


def test_pull_requests_opened_listed_and_merged_are_as_described(tmp_path: Path) -> None:
    from release_engine.remotes.github.pulls import Pulls

    work, bare = tmp_path / "work", tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for args in (
        ["commit", "-q", "--allow-empty", "-m", "first"],
        ["push", "-q", str(bare), "main"],
        ["switch", "-q", "-c", "release/v1.0.0"],
        ["commit", "-q", "--allow-empty", "-m", "Release v1.0.0"],
        ["push", "-q", str(bare), "release/v1.0.0"],
    ):
        subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@t", *args], cwd=work,
                       check=True)  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True
    ).stdout.strip()
    with GitHubStandIn(REPO, git_dir=bare) as gh:
        pulls = Pulls(GitHubClient(gh.url, REPO, gh.token, write_interval=0))
        assert pulls.find("release/v1.0.0", "main") == []
        opened = pulls.open("release/v1.0.0", "main", "Release v1.0.0", "notes")
        assert pulls.open("release/v1.0.0", "main", "Release v1.0.0", "notes") == opened
        assert pulls.merge(opened.number, "0" * 40).status == 409  # the head moved
        assert pulls.merge(opened.number, head).merged
        assert call(gh, "GET", f"{API}/pulls/{opened.number}")[1]["merged"] is True
        assert_contract(
            gh,
            {
                "GET /repos/{owner}/{repo}/pulls 200",
                "POST /repos/{owner}/{repo}/pulls 201",
                "POST /repos/{owner}/{repo}/pulls 422",
                "GET /repos/{owner}/{repo}/pulls/{pull_number} 200",
                "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge 200",
                "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge 409",
            },
        )


@pytest.mark.e2e
def test_a_rehearsed_release_asks_github_only_what_it_describes(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    """A whole release, rehearsed (no container image): every request the engine sent to the
    GitHub stand-in, and every answer, is as GitHub's description says."""
    from release_engine.context import Options
    from release_engine.engine import release
    from release_engine.output import ConsoleReporter
    from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins
    from release_engine.version import parse_version
    from tests.engine.conftest import VERSION

    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        options = Options(skip_image=True)
        ctx = rehearsal_context(work, parse_version(VERSION), s, options=options)
        release(ctx, ConsoleReporter(io.StringIO()))
        assert [r["tag_name"] for r in s.github.releases()] == [f"v{VERSION}"]
        assert_contract(
            s.github,
            {
                "GET /repos/{owner}/{repo}/commits/{ref}/status 200",
                "GET /repos/{owner}/{repo}/commits/{ref}/check-runs 200",
                "GET /repos/{owner}/{repo}/pulls 200",
                "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200",
                "GET /repos/{owner}/{repo}/branches/{branch}/protection 404",
                "GET /repos/{owner}/{repo}/rules/branches/{branch} 200",
                "GET /repos/{owner}/{repo}/releases 200",
                "POST /repos/{owner}/{repo}/releases 201",
                "GET /repos/{owner}/{repo}/releases/{release_id}/assets 200",
                "POST /repos/{owner}/{repo}/releases/{release_id}/assets 201",
                "PATCH /repos/{owner}/{repo}/releases/{release_id} 200",
                "GET /repos/{owner}/{repo}/releases/tags/{tag} 200",
            },
        )
