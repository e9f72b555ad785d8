"""The GitHub stand-in's pull requests: opened, listed and merged for real in a bare remote.

``POST /pulls``, ``GET /pulls``, ``GET /pulls/{n}/commits`` and ``PUT /pulls/{n}/merge`` as
docs.github.com/rest/pulls describes them. A merge is a real merge commit in the
repository's bare remote (``git merge-tree --write-tree``, ``git commit-tree``, ``git
update-ref`` with the old value), made the way GitHub makes it: "Merge pull request #N from
OWNER/BRANCH". ``update-ref`` runs no hook, so the stand-in's merges pass the ``pre-receive``
hook that protects a branch the way GitHub's branch protection does (GH006), while every ``git
push`` to that branch is refused.
"""

from __future__ import annotations

__all__ = ["BareRemote", "PullRequests", "protection_hook"]

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .github_state import GitHubState, Json, Reply

Completed = subprocess.CompletedProcess[str]

_DOCS = "https://docs.github.com/rest/pulls/pulls"
_MERGER = {"GIT_AUTHOR_NAME": "release-bot",
           "GIT_AUTHOR_EMAIL": "release-bot@users.noreply.github.com",
           "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}  # fmt: skip


def protection_hook(branch: str) -> str:
    """A ``pre-receive`` hook refusing every push to *branch*, in GitHub's words."""
    return f"""#!/bin/sh
# GitHub's branch protection, as the GitHub stand-in enforces it: {branch} changes only
# through a pull request (the stand-in merges with git update-ref, which runs no hook).
while read -r old new ref; do
    if [ "$ref" = "refs/heads/{branch}" ]; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: Changes must be made through a pull request." >&2
        exit 1
    fi
done
exit 0
"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _failed(message: str, status: int = 422, errors: list[Json] | None = None) -> Reply:
    body: Json = {"message": message, "documentation_url": _DOCS}
    if errors is not None:
        body["errors"] = errors
    return Reply(status, body)


def _invalid(field: str, code: str = "invalid") -> Reply:
    error = {"resource": "PullRequest", "field": field, "code": code}
    return _failed("Validation Failed", 422, [error])


def _custom(message: str) -> Reply:
    return _failed("Validation Failed", 422, [{"resource": "PullRequest", "code": "custom",
                                               "message": message}])  # fmt: skip


class BareRemote:
    """The bare git repository the stand-in's repository lives in."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    def head(self, branch: str) -> str | None:
        found = self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        return found.stdout.strip() or None

    def contains(self, ancestor: str, descendant: str) -> bool:
        return self.git("merge-base", "--is-ancestor", ancestor, descendant).returncode == 0

    def protect(self, branch: str) -> None:
        hook = self.path / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(protection_hook(branch), encoding="utf-8")
        hook.chmod(0o755)

    def merge(self, base: str, old: str, head: str, message: str) -> str | None:
        """A merge commit of *head* into *base* (at *old*); None when they conflict."""
        tree = self.git("merge-tree", "--write-tree", old, head)
        if tree.returncode != 0:
            return None
        argv = ["commit-tree", tree.stdout.split()[0], "-p", old, "-p", head, "-m", message]
        commit = self.git(*argv, env=_MERGER)
        if commit.returncode != 0:
            raise _failed(f"git commit-tree failed: {commit.stderr.strip()}", 500)
        sha = commit.stdout.strip()
        moved = self.git("update-ref", "-m", "merge pull request", f"refs/heads/{base}", sha, old)
        if moved.returncode != 0:
            raise _failed("Base branch was modified. Review and try the merge again.", 405)
        return sha


class PullRequests:
    """Pull requests opened through the API, kept in *state* beside the seeded ones."""

    def __init__(self, state: GitHubState, remote: Path | None = None) -> None:
        self.state = state
        self.remote = BareRemote(remote) if remote is not None else None

    def _pulls(self) -> dict[str, Json]:
        pulls: dict[str, Json] = self.state.data["pulls"]
        return pulls

    def _head_ref(self, pull: Json) -> str:
        return str(pull.get("head_ref") or f"change-{pull['number']}")

    def _refresh(self, pull: Json) -> None:
        """An open pull request's head is its branch's tip now, as on GitHub."""
        if self.remote is not None and pull.get("state") == "open":
            tip = self.remote.head(self._head_ref(pull))
            if tip is not None:
                pull["head_sha"] = tip

    def render(self, pull: Json, *, full: bool) -> Json:
        self._refresh(pull)
        shape = self.state.render_pull(pull, full=full)
        if "head_ref" in pull:
            ref, owner = pull["head_ref"], self.state.owner
            shape["head"].update({"label": f"{owner}:{ref}", "ref": ref, "sha": pull["head_sha"]})
            shape["state"], shape["body"] = pull["state"], pull.get("body")
            shape["closed_at"] = pull.get("closed_at")
            if self.remote is not None:
                shape["base"]["sha"] = self.remote.head(pull["base"]) or "0" * 40
            if full:
                shape["mergeable"] = None if pull["state"] != "open" else True
                shape["mergeable_state"] = "clean" if pull["state"] == "open" else "unknown"
        return shape

    def listed(self, query: dict[str, list[str]]) -> list[Json]:
        """``GET /pulls``: *state* (open), *head* (``OWNER:BRANCH``), *base*, *sort*
        (created, updated; popularity and long-running are taken as created) and *direction*
        (desc, GitHub's default for created; asc for the others)."""
        want = query.get("state", ["open"])[0]
        if want not in ("open", "closed", "all"):
            raise _invalid("state")
        sort = query.get("sort", ["created"])[0]
        if sort not in ("created", "updated", "popularity", "long-running"):
            raise _invalid("sort")
        direction = query.get("direction", ["desc" if sort == "created" else "asc"])[0]
        if direction not in ("asc", "desc"):
            raise _invalid("direction")
        head, base = query.get("head", [""])[0], query.get("base", [""])[0]
        found = []
        for pull in self._pulls().values():
            self._refresh(pull)
            state = pull.get("state") or ("closed" if pull["merged"] else "open")
            if want != "all" and state != want:
                continue
            if head and head != f"{self.state.owner}:{self._head_ref(pull)}":
                continue
            if base and base != pull["base"]:
                continue
            found.append(pull)
        stamp = "merged_at" if sort == "updated" else "created_at"
        found.sort(key=lambda p: (p.get(stamp) or p["created_at"], p["number"]))
        return [self.render(p, full=False) for p in found[:: -1 if direction == "desc" else 1]]

    def commits(self, number: int) -> list[Json]:
        """``GET /pulls/{n}/commits``: the commits its head brought, oldest first, at most 250
        (GitHub's limit). A seeded pull request's are its *commits* and its head."""
        pull = self._pulls()[str(number)]
        if "head_ref" in pull and self.remote is not None:
            self._refresh(pull)
            merged = pull.get("merge_commit_sha")
            upto, since = (f"{merged}^2", f"{merged}^1") if merged else (pull["head_sha"], None)
            since = since or self.remote.head(pull["base"]) or upto
            shas = self.remote.git("rev-list", "--reverse", upto, f"^{since}").stdout.split()
        else:
            shas = list(dict.fromkeys([*reversed(pull.get("commits", [])), pull["head_sha"]]))
        shas = shas[:250]
        shown = self._shown(shas)
        return [self._commit(sha, shown.get(sha)) for sha in shas]

    def _shown(self, shas: list[str]) -> dict[str, list[str]]:
        """What the bare remote holds of *shas*, read in one ``git log`` (tree, parents,
        author, committer, message); a commit it lacks is left out."""
        if self.remote is None or not shas:
            return {}
        fields = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"
        shown = self.remote.git("log", "--no-walk=unsorted", f"--format={fields}", *shas)
        if shown.returncode != 0:  # some commit it lacks: ask one at a time
            found = [self.remote.git("log", "-1", f"--format={fields}", sha) for sha in shas]
            records = [r.stdout for r in found if r.returncode == 0]
        else:
            records = shown.stdout.split("\x1e")
        split = [r.lstrip("\n").split("\0") for r in records if r.strip()]
        return {r[0]: r[1:] for r in split if len(r) >= 10}

    def _commit(self, sha: str, fields: list[str] | None) -> Json:
        """One commit as GitHub's ``commit`` schema shows it: *fields* from the bare remote
        (see :meth:`_shown`), else its id alone, the rest null or empty."""
        api, web = self.state.api_url(), self.state.web_url()
        tree, parents, *people, message = ((fields or ["0" * 40]) + [""] * 9)[:9]
        keys = ("name", "email", "date")
        author = dict(zip(keys, people[:3], strict=True)) if people[0] else None
        committer = dict(zip(keys, people[3:], strict=True)) if people[3] else None
        return {"url": f"{api}/commits/{sha}", "sha": sha, "node_id": f"C_{sha[:20]}",
                "html_url": f"{web}/commit/{sha}", "comments_url": f"{api}/commits/{sha}/comments",
                "commit": {"url": f"{api}/git/commits/{sha}", "author": author,
                           "committer": committer, "message": message.strip(),
                           "comment_count": 0, "tree": {"sha": tree or "0" * 40,
                                                        "url": f"{api}/git/trees/{tree}"}},
                "author": {}, "committer": {},  # no GitHub account: an empty object
                "parents": [{"sha": p, "url": f"{api}/commits/{p}"}
                            for p in parents.split()]}  # fmt: skip

    def create(self, body: Any) -> Json:
        """``POST /pulls``: 201, or 422 when one is open for the head already."""
        for field in ("title", "head", "base"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise _invalid(field, "missing_field")
        owner, _, branch = str(body["head"]).rpartition(":")
        if owner and owner != self.state.owner:
            raise _invalid("head")
        base = body["base"]
        if self.remote is not None:
            tip, base_tip = self.remote.head(branch), self.remote.head(base)
            if tip is None:
                raise _invalid("head")
            if base_tip is None:
                raise _invalid("base")
            if self.remote.contains(tip, base_tip):
                raise _custom(f"No commits between {base} and {branch}")
        else:
            tip = "0" * 40
        for pull in self._pulls().values():
            if pull.get("head_ref") == branch and pull["base"] == base and pull["state"] == "open":
                raise _custom(f"A pull request already exists for {self.state.owner}:{branch}.")
        number = self._next_number()
        now = _now()
        pull = {"number": number, "head_sha": tip, "merge_commit_sha": None, "base": base,
                "merged": False, "title": body["title"], "created_at": now, "merged_at": None,
                "head_ref": branch, "state": "open", "body": body.get("body"),
                "closed_at": None}  # fmt: skip
        self._pulls()[str(number)] = pull
        self.state.save()
        return self.render(pull, full=True)

    def _next_number(self) -> int:
        number = int(self.state.data.get("next_pull_number", 1))
        while str(number) in self._pulls():
            number += 1
        self.state.data["next_pull_number"] = number + 1
        return number

    def required_checks(self, base: str) -> list[str]:
        required: dict[str, list[str]] = self.state.data.get("required_checks", {})
        return list(required.get(base, []))

    def _check_blocker(self, base: str, sha: str) -> str | None:
        """Why the required checks of *base* block merging *sha*, or None."""
        statuses = {s["context"]: s["state"] for s in self.state.data["statuses"].get(sha, [])}
        runs = {r["name"]: r for r in self.state.data["check_runs"].get(sha, [])}
        for context in self.required_checks(base):
            run = runs.get(context)
            state = statuses.get(context) or (
                (run["conclusion"] if run["status"] == "completed" else "pending") if run else None
            )
            if state in ("failure", "error", "cancelled", "timed_out", "action_required"):
                return f'Required status check "{context}" is failing.'
            if state not in ("success", "neutral", "skipped"):
                return f'Required status check "{context}" is expected.'
        return None

    def merge(self, number: int, body: Any) -> Json:
        """``PUT /pulls/{n}/merge``: a real merge commit (merge_method "merge")."""
        pull = self._pulls()[str(number)]
        self._refresh(pull)
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            raise _invalid("merge_method")
        if method != "merge":
            raise _failed(f"Merge method {method} is not allowed on this repository.", 405)
        if pull.get("state", "closed" if pull["merged"] else "open") != "open":
            raise _failed("Pull Request is not mergeable", 405)
        if self.remote is None:
            raise _failed("Pull Request is not mergeable (the stand-in has no repository)", 405)
        branch, base = self._head_ref(pull), pull["base"]
        head, old = self.remote.head(branch), self.remote.head(base)
        if head is None or old is None:
            raise _failed("Pull Request is not mergeable", 405)
        if body.get("sha") and body["sha"] != head:
            raise _failed("Head branch was modified. Review and try the merge again.", 409)
        blocker = self._check_blocker(base, head)
        if blocker is not None:
            raise _failed(blocker, 405)
        title = body.get("commit_title") or (
            f"Merge pull request #{number} from {self.state.owner}/{branch}"
        )
        message = f"{title}\n\n{body.get('commit_message') or pull['title']}"
        sha = self.remote.merge(base, old, head, message)
        if sha is None:
            raise _failed("Pull Request is not mergeable", 405)
        now = _now()
        pull.update({"merged": True, "merged_at": now, "closed_at": now, "state": "closed",
                     "merge_commit_sha": sha, "head_sha": head})  # fmt: skip
        self.state.save()
        return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
