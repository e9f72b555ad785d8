"""A local stand-in for the part of GitHub's REST API the release engine uses.

Requests and responses follow GitHub's documented shapes (releases, commit statuses, check
runs, pull requests, reviews), so the engine's GitHub client talks to it as to
api.github.com. Pulls, reviews and check runs, which GitHub's API cannot create the same way,
are seeded with Python methods.
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
import json
import re
import secrets
import signal
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
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
from .github_routes import DOCS, REPO, ROUTES, Answer, Handler, paginate, route
from .github_seeding import Seeding
from .github_state import GitHubState, Json, Reply, not_found


class GitHubStandIn(Seeding, StandIn):
    """GitHub's REST API for one repository, on 127.0.0.1 in a daemon thread.

    ``.url`` is the API base URL (the client's ``api_url``; under *base_path*, e.g. GitHub
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
            self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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

    # --- serving -----------------------------------------------------------------------
    def _answer(self, method: str, target: str, raw: bytes, authorization: str | None) -> Answer:
        parts = urlsplit(target)
        if method == "GET" and (download := self.assets.download(parts.path)) is not None:
            return download  # a browser_download_url: public, no token
        path, query = self._api_path(parts.path), parse_qs(parts.query)
        if parts.path.startswith(UPLOADS_PREFIX + "/"):
            query["__upload__"] = ["1"]  # the body is the asset's bytes
        if path is None:  # outside the base path: not the API
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
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
            return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
        uploading = query.pop("__upload__", None) is not None
        match = re.fullmatch(REPO + r"/releases/(?P<id>\d+)/assets", path)
        if uploading and method == "POST" and match and self._is_mine(match):
            with self.state.lock:
                return 201, self.assets.upload(int(match["id"]), query, raw), {}
        if uploading:
            raise not_found()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return 400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, {}
        for route_method, pattern, name in ROUTES:
            match = pattern.fullmatch(path)
            if route_method != method or match is None:
                continue
            args = {k: unquote(v) for k, v in match.groupdict().items()}
            if f"{args.pop('owner')}/{args.pop('repo')}".lower() != self.repository.lower():
                break
            with self.state.lock:
                status, result = route(self, name, args, query, body)
            if name == "check_runs":
                page, headers = paginate(self.url, result, path, query)
                return status, {"total_count": len(result), "check_runs": page}, headers
            if name == "combined_status":  # total_count counts them all, statuses one page
                page, headers = paginate(self.url, result["statuses"], path, query)
                return status, {**result, "statuses": page}, headers
            if isinstance(result, list):
                return (status, *paginate(self.url, result, path, query))
            return status, result, {}
        raise not_found()

    def _is_mine(self, match: re.Match[str]) -> bool:
        return f"{match['owner']}/{match['repo']}".lower() == self.repository.lower()

    # --- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


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
