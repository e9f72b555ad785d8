"""How the GitHub stand-in routes a request: the REST API's paths it serves (each checked
against GitHub's OpenAPI description in tests/engine/test_github_contract.py), what each does
to the state, GitHub's pagination, and the HTTP handler that answers with GitHub's headers.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from .github_state import Reply, not_found

if TYPE_CHECKING:
    from .github_api import GitHubStandIn

__all__ = ["DOCS", "HEADERS", "REPO", "ROUTES", "Answer", "Handler", "paginate", "route"]

DOCS = "https://docs.github.com/rest"
REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(REPO + pattern + "/?"), name)
    for method, pattern, name in [
        ("GET", "", "get_repo"),
        ("GET", "/releases", "list_releases"),
        ("POST", "/releases", "create_release"),
        ("GET", "/releases/latest", "latest_release"),
        ("GET", "/releases/tags/(?P<tag>.+)", "release_by_tag"),
        ("GET", r"/releases/(?P<id>\d+)", "get_release"),
        ("PATCH", r"/releases/(?P<id>\d+)", "update_release"),
        ("GET", r"/releases/(?P<id>\d+)/assets", "list_assets"),
        ("GET", r"/releases/assets/(?P<asset>\d+)", "get_asset"),
        ("POST", "/statuses/(?P<sha>[^/]+)", "create_status"),
        ("GET", "/commits/(?P<ref>[^/]+)/status", "combined_status"),
        ("GET", "/commits/(?P<ref>[^/]+)/check-runs", "check_runs"),
        ("GET", "/commits/(?P<ref>[^/]+)/pulls", "pulls_for_commit"),
        ("GET", r"/pulls/(?P<n>\d+)", "get_pull"),
        ("GET", r"/pulls/(?P<n>\d+)/reviews", "list_reviews"),
        ("GET", r"/pulls/(?P<n>\d+)/commits", "pull_commits"),
        ("GET", "/pulls", "list_pulls"),
        ("POST", "/pulls", "create_pull"),
        ("PUT", r"/pulls/(?P<n>\d+)/merge", "merge_pull"),
        ("PUT", r"/pulls/(?P<n>\d+)/reviews/(?P<rid>\d+)/dismissals", "dismiss_review"),
        ("GET", "/branches/(?P<branch>.+)/protection", "get_protection"),
        ("GET", "/rules/branches/(?P<branch>.+)", "branch_rules"),
        ("GET", "/issues", "list_issues"),
        ("POST", "/issues", "create_issue"),
    ]
]
Answer = tuple[int, Any, dict[str, str]]
# fmt: off
HEADERS = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Media-Type": "github.v3",
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Resource": "core"}  # GitHub's rate-limit headers, as clients read them
# fmt: on


def route(
    self: GitHubStandIn, name: str, a: dict[str, str], q: dict[str, list[str]], b: Any
) -> Any:
    """Carry out the request *name* routed to (*a*: its path's parts, *q*: its query,
    *b*: its JSON body) on the stand-in's state: ``(status, result)``."""
    s, pulls = self.state, self.state.data["pulls"]
    if not isinstance(b, dict):
        raise Reply(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
    if "n" in a and a["n"] not in pulls:
        raise not_found()
    # fmt: off
    handlers: dict[str, Callable[[], tuple[int, Any]]] = {
        "get_repo": lambda: (200, s.render_repo()),
        "list_releases": lambda: (200, self.releases()),
        "create_release": lambda: (201, s.render_release(s.create_release(b))),
        "latest_release": lambda: (200, s.render_release(s.latest_release())),
        "release_by_tag": lambda: (200, s.render_release(s.release_for_tag(a["tag"]))),
        "get_release": lambda: (200, s.render_release(s.find_release(int(a["id"])))),
        "update_release": lambda: (200, s.render_release(s.update_release(int(a["id"]), b))),
        "list_assets": lambda: (200, self.assets.listed(int(a["id"]))),
        "get_asset": lambda: (200, self.assets.get(int(a["asset"]))),
        "create_status": lambda: (201, s.render_status(s.add_status(a["sha"], b))),
        "combined_status": lambda: (200, s.combined_status(a["ref"])),
        "check_runs": lambda: (200, s.check_runs(a["ref"], q)),
        "pulls_for_commit": lambda: (200, [
            s.render_pull(p, full=False) for p in pulls.values()
            if a["ref"] in (p["head_sha"], p["merge_commit_sha"], *p.get("commits", []))]),
        "get_pull": lambda: (200, self.pulls.render(pulls[a["n"]], full=True)),
        "list_pulls": lambda: (200, self.pulls.listed(q)),
        "pull_commits": lambda: (200, self.pulls.commits(int(a["n"]))),
        "create_pull": lambda: (201, self.pulls.create(b)),
        "merge_pull": lambda: (200, self.pulls.merge(int(a["n"]), b)),
        "dismiss_review": lambda: (200, self.protection.dismiss(a["n"], a["rid"], b)),
        "get_protection": lambda: (200, self.protection.protection(a["branch"])),
        "branch_rules": lambda: (200, self.protection.rules(a["branch"])),
        "list_issues": lambda: (200, self.issues.listed(q)),
        "create_issue": lambda: (201, self.issues.create(b)),
        "list_reviews": lambda: (200, [
            s.render_review(int(a["n"]), r) for r in s.data["reviews"].get(a["n"], [])]),
    }
    # fmt: on
    return handlers[name]()


def paginate(url: str, items: list[Any], path: str, query: dict[str, list[str]]) -> Any:
    """One page of *items* and GitHub's ``Link`` header pointing at the others (the API
    served at *url*)."""
    try:
        per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
        page = max(1, int(query.get("page", ["1"])[0]))
    except ValueError:
        raise Reply(422, {"message": "Invalid page", "documentation_url": DOCS}) from None
    last = max(1, -(-len(items) // per_page))
    others = "".join(f"&{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page"))
    links = {"prev": page - 1, "next": page + 1, "last": last, "first": 1}
    header = ", ".join(
        f'<{url}{path}?per_page={per_page}&page={n}{others}>; rel="{rel}"'
        for rel, n in links.items()
        if 1 <= n <= last and n != page
    )
    chunk = items[(page - 1) * per_page : page * per_page]
    return chunk, ({"Link": header} if header else {})


class Handler(BaseHTTPRequestHandler):
    """One request to the stand-in (``server.standin``): answered, recorded, sent."""

    protocol_version = "HTTP/1.1"
    # Kept-alive connections: headers and body are two writes, and with Nagle the body waits
    # for the ACK of the headers, which the client delays by 40 ms (TCP delayed ACK).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        standin: GitHubStandIn = self.server.standin  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            auth = self.headers.get("Authorization")
            status, body, headers = standin._answer(self.command, self.path, raw, auth)
        except Reply as reply:
            status, body, headers = reply.status, reply.body, {}
        standin._record(self.command, self.path, raw, (status, body, headers))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        reset = {"X-RateLimit-Reset": str(int(time.time()) + 3600)}
        given = {name.lower() for name in headers}
        for name, value in {
            **{k: v for k, v in {**HEADERS, **reset}.items() if k.lower() not in given},
            "Content-Length": str(len(data)),
            **headers,
        }.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have gone while the answer was held
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
