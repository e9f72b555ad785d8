"""The GitHub stand-in's branch protection, rulesets and review dismissals.

As docs.github.com/rest describes them: ``GET /repos/{o}/{r}/branches/{b}/protection`` (200
with ``required_status_checks`` and ``required_pull_request_reviews``; 404 "Branch not
protected"; to a token without administration, 403 "Resource not accessible by integration"
as GitHub answers the workflow's token, or 404 "Not Found" as it answers a personal token),
``GET /repos/{o}/{r}/rules/branches/{b}`` (every active rule of the rulesets whose pattern
takes the branch, with its ruleset's details) and ``PUT /repos/{o}/{r}/pulls/{n}/reviews/
{id}/dismissals`` (the review's state becomes ``DISMISSED``; a pending or commented review
cannot be dismissed: 422). The required checks seeded with ``seed_required_checks`` are the
protection's ``required_status_checks``, which also block a merge (github_pulls).
"""

from __future__ import annotations

__all__ = ["Protection"]

import fnmatch
from typing import Any

from .github_state import GitHubState, Json, Reply, not_found

_DOCS = "https://docs.github.com/rest/branches/branch-protection"


class Protection:
    """Branch protection and rulesets kept in *state*'s data."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state

    # --- seeding ---------------------------------------------------------------------------
    def protect(
        self, branch: str, *, approvals: int = 1, code_owners: bool = False,
        checks: tuple[str, ...] | list[str] | None = None,
    ) -> None:  # fmt: skip
        """Protect *branch*: *approvals* required reviews, and *checks* required (if given)."""
        data = self.state.data
        data.setdefault("protection", {})[branch] = {"approvals": approvals,
                                                     "code_owners": code_owners}  # fmt: skip
        if checks is not None:
            data.setdefault("required_checks", {})[branch] = list(checks)
        self.state.save()

    def hide(self, status: int = 403) -> None:
        """Answer protection reads as GitHub answers a token without administration."""
        self.state.data["protection_hidden"] = status
        self.state.save()

    def add_ruleset(
        self, pattern: str, *, approvals: int | None = None, checks: tuple[str, ...] = (),
        code_owners: bool = False,
    ) -> None:  # fmt: skip
        """A repository ruleset for branches matching *pattern* (``main``, ``hotfix/*``)."""
        rulesets: list[Json] = self.state.data.setdefault("rulesets", [])
        rulesets.append({"id": self.state.next_id(), "pattern": pattern, "approvals": approvals,
                         "checks": list(checks), "code_owners": code_owners})  # fmt: skip
        self.state.save()

    # --- serving ---------------------------------------------------------------------------
    def protection(self, branch: str) -> Json:
        data = self.state.data
        hidden = data.get("protection_hidden")
        if hidden == 403:
            raise Reply(403, {"message": "Resource not accessible by integration",
                              "documentation_url": _DOCS, "status": "403"})  # fmt: skip
        if hidden == 404:
            raise not_found()
        reviews = data.get("protection", {}).get(branch)
        checks = data.get("required_checks", {}).get(branch)
        if reviews is None and checks is None:
            raise Reply(404, {"message": "Branch not protected", "documentation_url": _DOCS})
        url = f"{self.state.api_url()}/branches/{branch}/protection"
        found: Json = {"url": url, "enabled": True, "name": branch, "protection_url": url,
                       "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
                       "required_linear_history": {"enabled": False},
                       "allow_force_pushes": {"enabled": False},
                       "allow_deletions": {"enabled": False}}  # fmt: skip
        if checks is not None:
            found["required_status_checks"] = {
                "url": f"{url}/required_status_checks", "strict": False, "contexts": list(checks),
                "checks": [{"context": c, "app_id": None} for c in checks],
                "contexts_url": f"{url}/required_status_checks/contexts"}  # fmt: skip
        if reviews is not None:
            found["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews", "dismiss_stale_reviews": False,
                "require_code_owner_reviews": reviews["code_owners"],
                "required_approving_review_count": reviews["approvals"],
                "require_last_push_approval": False}  # fmt: skip
        return found

    def rules(self, branch: str) -> list[Json]:
        found: list[Json] = []
        for ruleset in self.state.data.get("rulesets", []):
            if not fnmatch.fnmatchcase(branch, ruleset["pattern"]):
                continue
            info = {"ruleset_source_type": "Repository", "ruleset_id": ruleset["id"],
                    "ruleset_source": self.state.repository}  # fmt: skip
            if ruleset["approvals"] is not None:
                found.append({"type": "pull_request", **info, "parameters": {
                    "dismiss_stale_reviews_on_push": False,
                    "require_code_owner_review": ruleset["code_owners"],
                    "require_last_push_approval": False,
                    "required_approving_review_count": ruleset["approvals"],
                    "required_review_thread_resolution": False}})  # fmt: skip
            if ruleset["checks"]:
                found.append({"type": "required_status_checks", **info, "parameters": {
                    "required_status_checks": [{"context": c} for c in ruleset["checks"]],
                    "strict_required_status_checks_policy": False}})  # fmt: skip
        return found

    def dismiss(self, number: str, review_id: str, body: Any) -> Json:
        if not isinstance(body.get("message"), str):
            raise Reply(422, {"message": "Validation Failed", "documentation_url": _DOCS,
                              "errors": ["message is missing"]})  # fmt: skip
        for review in self.state.data["reviews"].get(number, []):
            if str(review["id"]) != review_id:
                continue
            if review["state"] in ("PENDING", "COMMENTED"):
                raise Reply(422, {"message": "Can not dismiss a commented or pending review",
                                  "documentation_url": _DOCS})  # fmt: skip
            review["state"] = "DISMISSED"
            self.state.save()
            return self.state.render_review(int(number), review)
        raise not_found()
