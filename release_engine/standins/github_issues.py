"""The GitHub stand-in's issues: opened and listed as docs.github.com/rest/issues describes them.

``POST /repos/{o}/{r}/issues`` (201, ``title`` required, ``labels`` as names or objects) and
``GET /repos/{o}/{r}/issues`` (filters ``state``, default ``open``, and ``labels``, a comma
separated list every issue must carry all of; newest first, or ``sort``/``direction``).
GitHub counts pull requests as issues, numbered from one sequence: the listing shows them too,
with a ``pull_request`` object, and an issue never takes a pull request's number.
"""

from __future__ import annotations

__all__ = ["Issues"]

import zlib
from datetime import datetime, timezone
from typing import Any

from .github_state import GitHubState, Json, Reply

_DOCS = "https://docs.github.com/rest/issues/issues"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invalid(field: str, code: str = "invalid") -> Reply:
    error = {"resource": "Issue", "field": field, "code": code}
    body = {"message": "Validation Failed", "errors": [error], "documentation_url": _DOCS}
    return Reply(422, body)


class Issues:
    """The issues of *state*'s repository, kept in its data beside the pull requests."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state

    def _issues(self) -> dict[str, Json]:
        found: dict[str, Json] = self.state.data.setdefault("issues", {})
        return found

    def _number(self) -> int:
        """The next number of the sequence issues and pull requests share."""
        taken = {*self._issues(), *self.state.data["pulls"]}
        number = int(self.state.data.get("next_pull_number", 1))
        while str(number) in taken:
            number += 1
        self.state.data["next_pull_number"] = number + 1
        return number

    def create(self, body: Any) -> Json:
        """``POST /issues``: the new issue (201); 422 without a title."""
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            raise _invalid("title", "missing_field")
        labels = []
        for label in body.get("labels") or []:
            name = label.get("name") if isinstance(label, dict) else label
            if not isinstance(name, str) or not name:
                raise _invalid("labels")
            labels.append(name)
        if not isinstance(body.get("body", ""), (str, type(None))):
            raise _invalid("body")
        number, now = self._number(), _now()
        issue = {"number": number, "title": title, "body": body.get("body"),
                 "labels": list(dict.fromkeys(labels)), "state": "open", "created_at": now,
                 "updated_at": now, "closed_at": None}  # fmt: skip
        self._issues()[str(number)] = issue
        self.state.save()
        return self.render(issue)

    def listed(self, query: dict[str, list[str]]) -> list[Json]:
        """``GET /issues``: issues and pull requests, filtered by *state* and *labels*."""
        want = query.get("state", ["open"])[0]
        if want not in ("open", "closed", "all"):
            raise _invalid("state")
        wanted = {n.strip() for n in query.get("labels", [""])[0].split(",") if n.strip()}
        found = [*self._issues().values(), *self._pulls_as_issues()]
        found = [i for i in found if want in ("all", i["state"]) and wanted <= set(i["labels"])]
        oldest_first = query.get("direction", ["desc"])[0] == "asc"
        key = "updated_at" if query.get("sort", ["created"])[0] == "updated" else "created_at"
        found.sort(key=lambda i: (i[key], i["number"]), reverse=not oldest_first)
        return [self.render(i) for i in found]

    def _pulls_as_issues(self) -> list[Json]:
        return [
            {"number": p["number"], "title": p["title"], "body": p.get("body"), "labels": [],
             "state": p.get("state") or ("closed" if p["merged"] else "open"),
             "created_at": p["created_at"], "updated_at": p["merged_at"] or p["created_at"],
             "closed_at": p["merged_at"], "pull": True}
            for p in self.state.data["pulls"].values()
        ]  # fmt: skip

    def render(self, i: Json) -> Json:
        """*i* in the shape of GitHub's ``issue`` schema."""
        s, n = self.state, i["number"]
        api, web = f"{s.api_url()}/issues/{n}", f"{s.web_url()}/issues/{n}"
        labels = [{"id": zlib.crc32(name.encode()), "node_id": f"LA_{zlib.crc32(name.encode())}",
                   "url": f"{s.api_url()}/labels/{name}", "name": name, "description": None,
                   "color": "d73a4a", "default": False} for name in i["labels"]]  # fmt: skip
        shape: Json = {
            "id": 2_000_000 + n, "node_id": f"I_{n}", "url": api,
            "repository_url": s.api_url(), "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments", "events_url": f"{api}/events", "html_url": web,
            "number": n, "state": i["state"], "title": i["title"], "body": i["body"],
            "user": s.render_user("release-bot", "Bot"), "labels": labels, "assignee": None,
            "assignees": [], "milestone": None, "locked": False, "comments": 0,
            "closed_at": i["closed_at"], "created_at": i["created_at"],
            "updated_at": i["updated_at"], "author_association": "NONE",
        }  # fmt: skip
        if i.get("pull"):
            pull = f"{s.web_url()}/pull/{n}"
            shape["html_url"] = pull
            shape["pull_request"] = {"url": f"{s.api_url()}/pulls/{n}", "html_url": pull,
                                     "diff_url": f"{pull}.diff", "patch_url": f"{pull}.patch",
                                     "merged_at": i["closed_at"]}  # fmt: skip
        return shape
