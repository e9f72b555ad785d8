"""A local stand-in for the part of GitHub's REST API the release engine uses.

Requests and responses follow GitHub's documented shapes (releases, commit statuses, check
runs, pull requests, reviews), so PyGithub talks to it as to api.github.com. Pulls, reviews and
check runs, which GitHub's API cannot create the same way, are seeded with Python methods.
Run standalone: ``python -m release_engine.standins.github_api --repository o/r --token T``.
"""

from __future__ import annotations

__all__ = [
    "NOT_ACCESSIBLE",
    "PRIMARY_RATE_LIMIT",
    "SECONDARY_RATE_LIMIT",
    "Exchange",
    "Fault",
    "GitHubStandIn",
    "main",
]

import argparse
import contextlib
import json
import re
import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import StandInError
from ._server import StandIn
from .github_assets import UPLOADS_PREFIX, Assets
from .github_faults import (
    NOT_ACCESSIBLE,
    PRIMARY_RATE_LIMIT,
    SECONDARY_RATE_LIMIT,
    Exchange,
    Fault,
    Faults,
    Hold,
)
from .github_issues import Issues
from .github_protection import Protection
from .github_pulls import PullRequests
from .github_state import GitHubState, Json, Reply, not_found

_DOCS = "https://docs.github.com/rest"
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(_REPO + pattern + "/?"), name)
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
_HEADERS = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Media-Type": "github.v3",
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Resource": "core"}  # GitHub's rate-limit headers, which PyGithub reads
# fmt: on


class GitHubStandIn(StandIn):
    """GitHub's REST API for one repository, on 127.0.0.1 in a daemon thread.

    ``.url`` is the API base URL (PyGithub's ``base_url``; under *base_path*, e.g. GitHub
    Enterprise Server's ``/api/v3``), ``.token`` the one token it accepts (``Authorization:
    token X`` or ``Bearer X``), ``.requests`` the (method, path) log, ``.exchanges`` every
    request and answer in full. ``.fail()`` makes it answer as GitHub does when it limits,
    refuses or fails a request.
    """

    def __init__(
        self,
        repository: str,
        *,
        token: str | None = None,
        state_file: Path | str | None = None,
        port: int = 0,
        git_dir: Path | str | None = None,
        base_path: str = "",
    ) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise StandInError(f"the repository must look like owner/name, not {repository!r}")
        if base_path and not re.fullmatch(r"(/[\w.-]+)+", base_path):
            raise StandInError(f"the base path must look like /api/v3, not {base_path!r}")
        self.base_path = base_path  # GitHub Enterprise Server serves its API under /api/v3
        self.exchanges: list[Exchange] = []
        self._faults = Faults()
        self._holds: list[tuple[str, str, Hold]] = []  # (method, path regex, hold)
        self.repository = repository
        self.token = token or f"ghs_standin{secrets.token_hex(16)}"
        self.state = GitHubState(repository, Path(state_file) if state_file else None)
        self.pulls = PullRequests(self.state, Path(git_dir) if git_dir else None)
        #: Branch protection and rulesets: ``.protection.protect("main", approvals=2)``,
        #: ``.protection.add_ruleset("hotfix/*", checks=("green",))``, ``.protection.hide()``.
        self.protection = Protection(self.state)
        self.issues = Issues(self.state)
        self.assets = Assets(self.state)  # release assets: uploads, listing, downloads
        self.state.render_assets = self.assets.rendered_for
        self._log: list[tuple[str, str]] = []
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        except OSError as exc:
            message = f"the GitHub stand-in could not listen on port {port}: {exc}"
            raise StandInError(message) from exc
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self.state.web_base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.state.web_base + base_path
        self.state.base_url = self.url
        self.state.resolve = self._resolve
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="github-standin", daemon=True
        )
        self._thread.start()

    # --- what tests look at ------------------------------------------------------------
    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request so far as (method, path without query), oldest first."""
        with self.state.lock:
            return list(self._log)

    def count(self, method: str, path: str) -> int:
        """How many *method* requests went to exactly *path*, e.g. ``/repos/o/r/releases``."""
        with self.state.lock:
            return sum(1 for m, p in self._log if m == method.upper() and p == path.rstrip("/"))

    @property
    def counts(self) -> Counter[tuple[str, str]]:
        """How many requests went to each (method, path)."""
        with self.state.lock:
            return Counter(self._log)

    def releases(self) -> list[Json]:
        """The stored releases as GitHub shows them, newest first."""
        return self.state.releases()

    # --- faults, and what was said -----------------------------------------------------
    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        after: bool = False,
    ) -> None:
        """Answer the next *times* requests (of *method*, to a path matching the regular
        expression *path*) with *status*, *headers* and *body* instead (by default GitHub's
        body for that status: a secondary rate limit for 403 and 429). With *after*, the
        request is carried out first, as when GitHub acts and then answers 5xx."""
        with self.state.lock:
            self._faults.add(status, times=times, method=method, path=path, headers=headers,
                             body=body, after=after)  # fmt: skip

    def hold(self, method: str, path: str, *, after: bool = True) -> Hold:
        """Keep the next *method* request to a path matching *path* waiting (after carrying
        it out, with *after*) until the returned :class:`Hold` is released."""
        held = Hold(after=after)
        with self.state.lock:
            self._holds.append((method.upper(), path, held))
        return held

    def _take_hold(self, method: str, path: str) -> Hold | None:
        for entry in self._holds:
            if entry[0] == method and re.fullmatch(entry[1], path):
                self._holds.remove(entry)
                return entry[2]
        return None

    def _api_path(self, path: str) -> str | None:
        """*path* below the API's base path, or None when it is outside it."""
        path = path.rstrip("/") or "/"
        if path.startswith(UPLOADS_PREFIX + "/repos/"):  # the uploads host
            return path[len(UPLOADS_PREFIX) :]
        if not self.base_path:
            return path
        if path == self.base_path or path.startswith(self.base_path + "/"):
            return path[len(self.base_path) :] or "/"
        return None

    def _record(self, method: str, target: str, raw: bytes, answer: Answer) -> None:
        parts = urlsplit(target)
        try:
            uploaded = parts.path.startswith(UPLOADS_PREFIX + "/")  # bytes, not JSON
            sent = json.loads(raw) if raw.strip() and not uploaded else None
        except ValueError:
            sent = raw.decode(errors="replace")
        status, body, headers = answer
        if isinstance(body, bytes):  # a browser download: the web host, not the API
            return
        exchange = Exchange(method, self._api_path(parts.path) or parts.path,
                            parse_qs(parts.query), sent, status, body, dict(headers))  # fmt: skip
        with self.state.lock:
            self.exchanges.append(exchange)

    def _resolve(self, ref: str) -> tuple[str, str | None]:
        """The commit *ref* (a sha, a branch or a tag) names, and its date when known."""
        seeded = self.state.data.get("commits", {}).get(ref)
        if seeded is not None:
            return str(seeded["sha"]), seeded.get("date")
        remote = self.pulls.remote
        if remote is not None and re.fullmatch(r"\w[\w./-]*", ref):
            shown = remote.git("log", "-1", "--format=%H %ct", "--end-of-options", ref, "--")
            if shown.returncode == 0 and shown.stdout.strip():
                sha, stamp = shown.stdout.split()
                date = datetime.fromtimestamp(int(stamp), timezone.utc)
                return sha, date.strftime("%Y-%m-%dT%H:%M:%SZ")
        return ref, None

    def seed_commit(self, sha: str, date: str, refs: Sequence[str] = ()) -> None:
        """Make *sha* (and the branch or tag names *refs*) a commit made at *date*
        (``2026-01-01T00:00:00Z``), as a repository without a git remote cannot show."""
        with self.state.lock:
            commits = self.state.data.setdefault("commits", {})
            for ref in (sha, *refs):
                commits[ref] = {"sha": sha, "date": date}
            self.state.save()

    # --- seeding what GitHub's API cannot create the same way --------------------------
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

    # --- serving -----------------------------------------------------------------------
    def _answer(self, method: str, target: str, raw: bytes, authorization: str | None) -> Answer:
        parts = urlsplit(target)
        if method == "GET" and (download := self.assets.download(parts.path)) is not None:
            return download  # a browser_download_url: public, no token
        path, query = self._api_path(parts.path), parse_qs(parts.query)
        if parts.path.startswith(UPLOADS_PREFIX + "/"):
            query["__upload__"] = ["1"]  # the body is the asset's bytes
        if path is None:  # outside the base path: not the API
            return 404, {"message": "Not Found", "documentation_url": _DOCS}, {}
        with self.state.lock:
            self._log.append((method, path))
            fault = self._faults.take(method, path)
            held = self._take_hold(method, path)
        if held is not None and not held.after:
            held.wait()
        if fault is None or fault.after:
            try:
                answer = self._serve(method, path, query, raw, authorization)
            except Reply as reply:
                answer = reply.status, reply.body, {}
        if held is not None and held.after:
            held.wait()
        if fault is not None:
            return fault.status, fault.body, dict(fault.headers)
        return answer

    def _serve(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes, auth: str | None
    ) -> Answer:
        scheme, _, given = (auth or "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not secrets.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            return 401, {"message": "Bad credentials", "documentation_url": _DOCS}, {}
        uploading = query.pop("__upload__", None) is not None
        match = re.fullmatch(_REPO + r"/releases/(?P<id>\d+)/assets", path)
        if uploading and method == "POST" and match and self._is_mine(match):
            with self.state.lock:
                return 201, self.assets.upload(int(match["id"]), query, raw), {}
        if uploading:
            raise not_found()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return 400, {"message": "Problems parsing JSON", "documentation_url": _DOCS}, {}
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if route_method != method or match is None:
                continue
            args = {k: unquote(v) for k, v in match.groupdict().items()}
            if f"{args.pop('owner')}/{args.pop('repo')}".lower() != self.repository.lower():
                break
            with self.state.lock:
                status, result = self._route(name, args, query, body)
            if name == "check_runs":
                page, headers = self._paginate(result, path, query)
                return status, {"total_count": len(result), "check_runs": page}, headers
            if name == "combined_status":  # total_count counts them all, statuses one page
                page, headers = self._paginate(result["statuses"], path, query)
                return status, {**result, "statuses": page}, headers
            if isinstance(result, list):
                return (status, *self._paginate(result, path, query))
            return status, result, {}
        raise not_found()

    def _is_mine(self, match: re.Match[str]) -> bool:
        return f"{match['owner']}/{match['repo']}".lower() == self.repository.lower()

    def _route(self, name: str, a: dict[str, str], q: dict[str, list[str]], b: Any) -> Any:
        s, pulls = self.state, self.state.data["pulls"]
        if not isinstance(b, dict):
            raise Reply(400, {"message": "Problems parsing JSON", "documentation_url": _DOCS})
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

    def _paginate(self, items: list[Any], path: str, query: dict[str, list[str]]) -> Any:
        """One page of *items* and GitHub's ``Link`` header pointing at the others."""
        try:
            per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            raise Reply(422, {"message": "Invalid page", "documentation_url": _DOCS}) from None
        last = max(1, -(-len(items) // per_page))
        others = "".join(f"&{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page"))
        links = {"prev": page - 1, "next": page + 1, "last": last, "first": 1}
        header = ", ".join(
            f'<{self.url}{path}?per_page={per_page}&page={n}{others}>; rel="{rel}"'
            for rel, n in links.items()
            if 1 <= n <= last and n != page
        )
        chunk = items[(page - 1) * per_page : page * per_page]
        return chunk, ({"Link": header} if header else {})

    # --- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

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
            **{k: v for k, v in {**_HEADERS, **reset}.items() if k.lower() not in given},
            "Content-Length": str(len(data)),
            **headers,
        }.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have gone while the answer was held
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


def main(argv: Sequence[str] | None = None) -> int:
    """Run a stand-in until SIGTERM or SIGINT; print its URL first."""
    parser = argparse.ArgumentParser(prog="python -m release_engine.standins.github_api")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--repository", required=True, help="owner/name")
    parser.add_argument("--token", default=None, help="the token clients must send")
    parser.add_argument("--state", type=Path, default=None, help="JSON file keeping the state")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    standin = GitHubStandIn(
        args.repository, token=args.token, state_file=args.state, port=args.port
    )
    with standin:
        print(standin.url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
