"""The GitHub stand-in's data: one repository's releases, statuses, check runs and pulls.

Kept as plain JSON (optionally in a file, so a restarted stand-in keeps its state) and
rendered in GitHub's documented shapes, written several fields a line (so: fmt: off).
"""

from __future__ import annotations

__all__ = ["GitHubState", "Json", "Reply", "not_found"]

import json
import os
import threading
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from packaging.version import InvalidVersion, Version

# fmt: off
Json = dict[str, Any]
_DOCS = "https://docs.github.com/rest"
_RELEASE_FIELDS = {"tag_name": str, "target_commitish": str, "name": str, "body": str,
                   "draft": bool, "prerelease": bool}
# The hypermedia links of GitHub's user and repository objects (required by its description).
_USER_LINKS = {"followers": "/followers", "following": "/following{/other_user}",
               "gists": "/gists{/gist_id}", "starred": "/starred{/owner}{/repo}",
               "subscriptions": "/subscriptions", "organizations": "/orgs", "repos": "/repos",
               "events": "/events{/privacy}", "received_events": "/received_events"}
_REPO_LINKS = {"archive": "/{archive_format}{/ref}", "assignees": "/assignees{/user}",
               "blobs": "/git/blobs{/sha}", "branches": "/branches{/branch}",
               "collaborators": "/collaborators{/collaborator}", "comments": "/comments{/number}",
               "commits": "/commits{/sha}", "compare": "/compare/{base}...{head}",
               "contents": "/contents/{+path}", "contributors": "/contributors",
               "deployments": "/deployments", "downloads": "/downloads", "events": "/events",
               "forks": "/forks", "git_commits": "/git/commits{/sha}",
               "git_refs": "/git/refs{/sha}", "git_tags": "/git/tags{/sha}", "hooks": "/hooks",
               "issue_comment": "/issues/comments{/number}",
               "issue_events": "/issues/events{/number}", "issues": "/issues{/number}",
               "keys": "/keys{/key_id}", "labels": "/labels{/name}", "languages": "/languages",
               "merges": "/merges", "milestones": "/milestones{/number}",
               "notifications": "/notifications{?since,all,participating}",
               "pulls": "/pulls{/number}", "releases": "/releases{/id}",
               "stargazers": "/stargazers", "statuses": "/statuses/{sha}",
               "subscribers": "/subscribers", "subscription": "/subscription", "tags": "/tags",
               "teams": "/teams", "trees": "/git/trees{/sha}"}
_EPOCH = "2026-01-01T00:00:00Z"  # when the stand-in's repository and app were made


class Reply(Exception):
    """An HTTP answer other than the usual 200, raised from deep inside a handler."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def not_found() -> Reply:
    return Reply(404, {"message": "Not Found", "documentation_url": _DOCS})


def _invalid(resource: str, field: str, code: str = "invalid") -> Reply:
    err = [{"resource": resource, "code": code, "field": field}]
    return Reply(422, {"message": "Validation Failed", "errors": err, "documentation_url": _DOCS})


def _first(found: list[Json]) -> Json:
    if not found:
        raise not_found()
    return found[0]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_key(tag: str) -> tuple[int, Version]:
    try:
        return (1, Version(tag))
    except InvalidVersion:
        return (0, Version("0"))


class GitHubState:
    """Thread-safe state of one repository; every change is written to *state_file* if given."""

    def __init__(self, repository: str, state_file: Path | None = None) -> None:
        self.repository = repository
        self.owner = repository.split("/")[0]
        self.base_url = "http://127.0.0.1"  # the API's (with GitHub Enterprise's /api/v3)
        self.web_base = self.base_url  # the web pages'
        # What a ref (sha, branch or tag) names: the commit's sha and date, when known.
        self.resolve: Callable[[str], tuple[str, str | None]] = lambda ref: (ref, None)
        self.state_file = state_file
        #: A release's assets as GitHub shows them (the stand-in's :mod:`.github_assets`).
        self.render_assets: Callable[[Json], list[Json]] = lambda release: []
        #: What ``permissions.push`` says of the token: False for a read-only token.
        self.push_permission = True
        self.lock = threading.RLock()
        self.data: Json = {"next_id": 1, "latest_id": None, "releases": [], "statuses": {},
                           "check_runs": {}, "pulls": {}, "reviews": {}}
        if state_file is not None and state_file.exists():
            self.data.update(json.loads(state_file.read_text()))

    def next_id(self) -> int:
        self.data["next_id"] += 1
        return int(self.data["next_id"]) - 1

    def save(self) -> None:
        if self.state_file is not None:  # written whole, then renamed: never half a file
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.state_file)

    def releases(self) -> list[Json]:
        """Every release as GitHub shows it, newest first."""
        with self.lock:
            return [self.render_release(r) for r in reversed(self.data["releases"])]

    def find_release(self, release_id: int) -> Json:
        return _first([r for r in self.data["releases"] if r["id"] == release_id])

    def release_for_tag(self, tag: str) -> Json:
        """The published release for *tag*: GitHub does not find drafts by tag."""
        return _first([r for r in self.data["releases"] if r["tag_name"] == tag and not r["draft"]])

    def latest_release(self) -> Json:
        """The release marked latest, else (``legacy``) the newest by date, then by version.

        Our reading of GitHub's docs: ``make_latest`` "true" marks a release latest (drafts and
        prereleases never are; "true" is the default for a newly published release); "legacy"
        hands the choice back to the rule "Get the latest release" states: "the most recent
        non-prerelease, non-draft release, sorted by the created_at attribute", where
        "created_at ... is the date of the commit used for the release, and not the date when
        the release was drafted or published"; and "legacy ... determined based on the release
        creation date and higher semantic version" breaks ties by the higher version.
        """
        eligible: list[Json] = [
            r for r in self.data["releases"] if not r["draft"] and not r["prerelease"]
        ]
        for release in eligible:
            if release["id"] == self.data["latest_id"]:
                return release
        if not eligible:
            raise not_found()
        return max(eligible, key=lambda r: (r["created_at"], _version_key(r["tag_name"]), r["id"]))

    def _check_release_fields(self, body: Json, release_id: int | None) -> None:
        for field, kind in _RELEASE_FIELDS.items():
            if body.get(field) is not None and not isinstance(body[field], kind):
                raise _invalid("Release", field)
        if body.get("make_latest", "true") not in ("true", "false", "legacy"):
            raise _invalid("Release", "make_latest")
        tag, releases = body.get("tag_name"), self.data["releases"]
        if tag and not body.get("draft") and any(r["tag_name"] == tag and not r["draft"]
                                                 and r["id"] != release_id for r in releases):
            raise _invalid("Release", "tag_name", "already_exists")

    def _apply_make_latest(self, release: Json, value: str) -> None:
        if value == "legacy":
            self.data["latest_id"] = None
        elif value == "true" and not release["draft"] and not release["prerelease"]:
            self.data["latest_id"] = release["id"]

    def create_release(self, body: Json) -> Json:
        if not body.get("tag_name"):
            raise _invalid("Release", "tag_name", "missing_field")
        self._check_release_fields(body, None)
        now, draft = _now(), bool(body.get("draft", False))
        target = body.get("target_commitish") or "main"
        # created_at is the date of the tag's commit (of the target's, for a new tag).
        created = self.resolve(body["tag_name"])[1] or self.resolve(target)[1] or now
        release = {"id": self.next_id(), "tag_name": body["tag_name"], "target_commitish": target,
                   "name": body.get("name"), "body": body.get("body"), "draft": draft,
                   "prerelease": bool(body.get("prerelease", False)), "created_at": created,
                   "published_at": None if draft else now}
        self.data["releases"].append(release)
        self._apply_make_latest(release, body.get("make_latest", "true"))
        self.save()
        return release

    def update_release(self, release_id: int, body: Json) -> Json:
        release = self.find_release(release_id)
        self._check_release_fields({"draft": release["draft"], **body}, release_id)
        for field in _RELEASE_FIELDS:
            if field in body and (body[field] is not None or field in ("name", "body")):
                release[field] = body[field]
        published = not release["draft"] and release["published_at"] is None
        if published:
            release["published_at"] = _now()
        if "make_latest" in body or published:  # "true" by default for a newly published one
            self._apply_make_latest(release, body.get("make_latest", "true"))
        self.save()
        return release

    # --- statuses, check runs, pulls and reviews ----------------------------------------
    def add_pull(self, number: int, head_sha: str, merge_commit_sha: str | None, base: str,
                 merged: bool, title: str) -> None:
        now = _now()
        self.data["pulls"][str(number)] = {
            "number": number, "head_sha": head_sha, "merge_commit_sha": merge_commit_sha,
            "base": base, "merged": merged, "title": title or f"Change #{number}",
            "created_at": now, "merged_at": now if merged else None}
        self.save()

    def add_review(self, number: int, login: str, state: str, commit_id: str | None) -> None:
        pull = self.data["pulls"][str(number)]
        self.data["reviews"].setdefault(str(number), []).append(
            {"id": self.next_id(), "login": login, "state": state,
             "commit_id": commit_id or pull["head_sha"], "submitted_at": _now()})
        self.save()

    def add_check_run(
        self, sha: str, name: str, status: str, conclusion: str | None, run_id: int | None = None
    ) -> None:
        """*run_id*: the check run is a job of that GitHub Actions workflow run."""
        now, done = _now(), status == "completed"
        self.data["check_runs"].setdefault(sha, []).append(
            {"id": self.next_id(), "name": name, "head_sha": sha, "status": status,
             "conclusion": conclusion if done else None, "started_at": now,
             "completed_at": now if done else None, "run_id": run_id})
        self.save()

    def add_status(self, sha: str, body: Json) -> Json:
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise _invalid("Status", "state")
        now = _now()
        status = {"id": self.next_id(), "sha": sha, "state": body["state"], "created_at": now,
                  "updated_at": now, "context": body.get("context") or "default",
                  "description": body.get("description"), "target_url": body.get("target_url")}
        self.data["statuses"].setdefault(sha, []).append(status)
        self.save()
        return status

    def combined_status(self, ref: str) -> Json:
        """The latest status of each context of the commit *ref* names (a sha, a branch or a
        tag); ``statuses`` holds them all, for the API to paginate."""
        ref = self.resolve(ref)[0]
        latest: dict[str, Json] = {}
        for status in self.data["statuses"].get(ref, []):
            latest[status["context"]] = status
        statuses = sorted(latest.values(), key=lambda s: s["id"])
        states = {s["state"] for s in statuses}
        state = ("failure" if states & {"error", "failure"}
                 else "pending" if not statuses or "pending" in states else "success")
        api = self.api_url()
        return {"state": state, "statuses": [self.render_status(s) for s in statuses],
                "sha": ref, "total_count": len(statuses), "url": f"{api}/commits/{ref}/status",
                "commit_url": f"{api}/commits/{ref}", "repository": self.render_repo()}

    def check_runs(self, ref: str, query: dict[str, list[str]]) -> list[Json]:
        """The check runs of the commit *ref* names (a sha, a branch or a tag), newest first;
        ``filter=latest`` (the default) keeps the most recent run of each name."""
        runs: list[Json] = list(self.data["check_runs"].get(self.resolve(ref)[0], []))
        if query.get("filter", ["latest"])[0] == "latest":
            newest = {run["name"]: run for run in runs}
            runs = [run for run in runs if newest[run["name"]] is run]
        for key, field in (("check_name", "name"), ("status", "status")):
            runs = [run for run in runs if run[field] == query.get(key, [run[field]])[0]]
        return [self.render_check_run(run) for run in reversed(runs)]

    # --- shapes ------------------------------------------------------------------------
    def api_url(self) -> str:  # where the API serves this repository
        return f"{self.base_url}/repos/{self.repository}"

    def web_url(self) -> str:  # what html_url fields point at
        return f"{self.web_base}/{self.repository}"

    def render_user(self, login: str, kind: str = "User") -> Json:
        uid, url = zlib.crc32(login.encode()), f"{self.base_url}/users/{login}"
        return {"login": login, "id": uid, "node_id": f"U_{uid}", "type": kind,
                "avatar_url": f"{self.base_url}/avatars/{login}", "gravatar_id": "",
                "url": url, "html_url": f"{self.web_base}/{login}", "site_admin": False,
                **{f"{name}_url": url + link for name, link in _USER_LINKS.items()}}

    def render_repo(self) -> Json:
        api, name = self.api_url(), self.repository.split("/")[1]
        return {"id": zlib.crc32(self.repository.encode()), "node_id": "R_standin",
                "name": name, "full_name": self.repository, "private": True,
                "owner": self.render_user(self.owner, "Organization"), "fork": False,
                "html_url": self.web_url(), "url": api, "description": None,
                "default_branch": "main", "visibility": "private", "archived": False,
                "disabled": False, **{f"{k}_url": api + link for k, link in _REPO_LINKS.items()},
                "permissions": {"admin": self.push_permission, "maintain": self.push_permission,
                                "push": self.push_permission, "triage": True, "pull": True},
                "clone_url": f"{self.web_url()}.git", "git_url": f"{self.web_url()}.git",
                "ssh_url": f"git@127.0.0.1:{self.repository}.git", "svn_url": self.web_url(),
                "mirror_url": None, "homepage": None, "language": "Python", "license": None,
                "size": 0, "forks": 0, "forks_count": 0, "open_issues": 0, "open_issues_count": 0,
                "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "network_count": 0,
                "subscribers_count": 0, "has_issues": True, "has_projects": False,
                "has_wiki": False, "has_pages": False, "has_downloads": True,
                "has_discussions": False, "created_at": _EPOCH, "updated_at": _EPOCH,
                "pushed_at": _now()}

    def render_release(self, r: Json) -> Json:
        api, rid, tag = self.api_url(), r["id"], quote(r["tag_name"], safe="")
        # A draft has no tag yet: GitHub shows it under "untagged-..." until it is published.
        shown = f"untagged-{rid}" if r["draft"] else tag
        uploads = f"{self.web_base}/api/uploads/repos/{self.repository}"  # the uploads host
        return {"url": f"{api}/releases/{rid}", "assets_url": f"{api}/releases/{rid}/assets",
                "upload_url": f"{uploads}/releases/{rid}/assets{{?name,label}}",
                "html_url": f"{self.web_url()}/releases/tag/{shown}", "id": rid,
                "node_id": f"RE_{rid}", "tag_name": r["tag_name"],
                "target_commitish": r["target_commitish"], "name": r["name"], "body": r["body"],
                "draft": r["draft"], "prerelease": r["prerelease"], "created_at": r["created_at"],
                "published_at": r["published_at"], "author": self.render_user("release-bot", "Bot"),
                "assets": self.render_assets(r), "tarball_url": f"{api}/tarball/{tag}",
                "zipball_url": f"{api}/zipball/{tag}"}

    def render_status(self, s: Json) -> Json:
        return {"url": f"{self.api_url()}/statuses/{s['sha']}", "avatar_url": None,
                "id": s["id"], "node_id": f"SC_{s['id']}", "state": s["state"],
                "description": s["description"], "target_url": s["target_url"],
                "context": s["context"], "creator": self.render_user("release-bot", "Bot"),
                "created_at": s["created_at"], "updated_at": s["updated_at"]}

    def render_check_run(self, c: Json) -> Json:
        api, cid = self.api_url(), c["id"]
        run = c.get("run_id")  # an Actions job's page is under its workflow run, as on GitHub
        page = f"{self.web_url()}/" + (f"actions/runs/{run}/job/{cid}" if run else f"runs/{cid}")
        return {"id": cid, "head_sha": c["head_sha"], "node_id": f"CR_{cid}", "external_id": "",
                "url": f"{api}/check-runs/{cid}", "html_url": page, "details_url": page,
                "status": c["status"],
                "conclusion": c["conclusion"], "started_at": c["started_at"],
                "completed_at": c["completed_at"], "name": c["name"],
                "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                           "annotations_url": f"{api}/check-runs/{cid}/annotations"},
                "check_suite": {"id": cid}, "pull_requests": [], "app": {
                    "id": 15368, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=",
                    "name": "GitHub Actions", "owner": self.render_user("github", "Organization"),
                    "description": "Automate your workflow from idea to production",
                    "external_url": "https://help.github.com/en/actions",
                    "html_url": f"{self.web_base}/apps/github-actions", "created_at": _EPOCH,
                    "updated_at": _EPOCH, "permissions": {"checks": "write"},
                    "events": ["check_run", "check_suite"]}}

    def render_pull(self, p: Json, *, full: bool) -> Json:
        api, n, repo = self.api_url(), p["number"], self.render_repo()
        owner = self.render_user(self.owner, "Organization")
        shape = {"url": f"{api}/pulls/{n}", "id": 1_000_000 + n, "node_id": f"PR_{n}",
                 "html_url": f"{self.web_url()}/pull/{n}", "number": n, "locked": False,
                 "state": "closed" if p["merged"] else "open", "title": p["title"],
                 "user": self.render_user("alice"), "body": None, "labels": [], "draft": False,
                 "created_at": p["created_at"], "updated_at": p["merged_at"] or p["created_at"],
                 "closed_at": p["merged_at"], "merged_at": p["merged_at"],
                 "merge_commit_sha": p["merge_commit_sha"], "author_association": "MEMBER",
                 "head": {"label": f"{self.owner}:change-{n}", "ref": f"change-{n}",
                          "sha": p["head_sha"], "user": owner, "repo": repo},
                 "base": {"label": f"{self.owner}:{p['base']}", "ref": p["base"],
                          "sha": "0" * 40, "user": owner, "repo": repo},
                 "statuses_url": f"{api}/statuses/{p['head_sha']}",
                 "issue_url": f"{api}/issues/{n}", "diff_url": f"{self.web_url()}/pull/{n}.diff",
                 "patch_url": f"{self.web_url()}/pull/{n}.patch",
                 "commits_url": f"{api}/pulls/{n}/commits",
                 "comments_url": f"{api}/issues/{n}/comments",
                 "review_comments_url": f"{api}/pulls/{n}/comments",
                 "review_comment_url": f"{api}/pulls/comments{{/number}}",
                 "assignee": None, "milestone": None, "auto_merge": None}
        shape["_links"] = {rel: {"href": shape[key]} for rel, key in (
            ("self", "url"), ("html", "html_url"), ("issue", "issue_url"),
            ("comments", "comments_url"), ("review_comments", "review_comments_url"),
            ("review_comment", "review_comment_url"), ("commits", "commits_url"),
            ("statuses", "statuses_url"))}
        if full:
            shape.update({"merged": p["merged"], "mergeable": None if p["merged"] else True,
                          "mergeable_state": "unknown" if p["merged"] else "clean",
                          "merged_by": self.render_user("alice") if p["merged"] else None,
                          "comments": 0, "review_comments": 0, "commits": 1, "deletions": 0,
                          "additions": 1, "changed_files": 1, "maintainer_can_modify": False})
        return shape

    def render_review(self, number: int, r: Json) -> Json:
        return {"id": r["id"], "node_id": f"PRR_{r['id']}", "user": self.render_user(r["login"]),
                "body": "", "state": r["state"], "commit_id": r["commit_id"],
                "html_url": f"{self.web_url()}/pull/{number}#pullrequestreview-{r['id']}",
                "pull_request_url": f"{self.api_url()}/pulls/{number}",
                "author_association": "MEMBER", "submitted_at": r["submitted_at"],
                "_links": {"html": {"href": f"{self.web_url()}/pull/{number}#pullrequestreview-"
                                            f"{r['id']}"},
                           "pull_request": {"href": f"{self.api_url()}/pulls/{number}"}}}
