"""A Mastodon server for rehearsals, answering as Mastodon's API documents the two requests a
release makes (https://docs.joinmastodon.org/methods/statuses/#create,
https://docs.joinmastodon.org/methods/accounts/#verify_credentials).

- ``POST /api/v1/statuses`` with ``Authorization: Bearer <token>``, ``status`` and
  ``visibility`` as a form or JSON: posted (recorded) and answered ``200`` with the Status. A
  status over 500 characters (a URL counts 23, as Mastodon counts it) or empty, or an unknown
  visibility: ``422`` with Mastodon's ``Validation failed`` error. An ``Idempotency-Key`` seen
  before is answered with the status it made, and nothing is posted again.
- ``GET /api/v1/accounts/verify_credentials``: the account (``200``).
- A wrong or missing token: ``401 {"error": "The access token is invalid"}``; a token without
  ``write:statuses`` (:attr:`MastodonStandIn.scopes`) posting: ``403``.
"""

from __future__ import annotations

__all__ = ["MastodonStandIn", "counted_length"]

import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from ._receiver import Receiver, Reply, Request

LIMIT = 500
URL_LENGTH = 23  # what every URL counts, whatever its length
_URL = re.compile(r"https?://\S+")
_INVALID = {"error": "The access token is invalid"}
_VISIBILITIES = ("public", "unlisted", "private", "direct")


def counted_length(status: str) -> int:
    """A status's length as Mastodon counts it against the limit."""
    return len(_URL.sub("x" * URL_LENGTH, status))


def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = request.json()
        return body if isinstance(body, dict) else {}
    return {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}


class MastodonStandIn(Receiver):
    """One account on a Mastodon server on 127.0.0.1: its access token is :attr:`token`."""

    name = "mastodon"

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self.scopes = {"write:statuses", "profile"}
        self._made: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> the status it made
        self._count = 0
        super().__init__()

    @property
    def url(self) -> str:
        """The server's base URL (not a secret: the token is)."""
        return self.base_url

    def _account(self) -> dict[str, Any]:
        return {"id": "109000000000000001", "username": "releases", "acct": "releases",
                "display_name": "Releases", "url": f"{self.base_url}/@releases"}  # fmt: skip

    def answer(self, request: Request) -> Reply:
        authed = request.headers.get("authorization") == f"Bearer {self.token}"
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/api/v1/accounts/verify_credentials"):
            return Reply(200, self._account()) if authed else Reply(401, _INVALID)
        if route != ("POST", "/api/v1/statuses"):
            return Reply(404, {"error": "Record not found"})
        if not authed:
            return Reply(401, _INVALID)
        if "write:statuses" not in self.scopes:
            return Reply(403, {"error": "This action is outside the authorized scopes"})
        try:
            params = _params(request)
        except ValueError:
            return Reply(400, {"error": "Unexpected token in JSON"})
        return self._post(request.headers.get("idempotency-key", ""), params)

    def _post(self, key: str, params: dict[str, Any]) -> Reply:
        status, visibility = str(params.get("status") or ""), params.get("visibility") or "public"
        if not status.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if counted_length(status) > LIMIT:
            return Reply(422, {"error": f"Validation failed: Text character limit of {LIMIT} "
                                        "exceeded"})  # fmt: skip
        if visibility not in _VISIBILITIES:
            return Reply(
                422, {"error": "Validation failed: Visibility is not included in the list"}
            )
        if key and key in self._made:  # Mastodon's duplicate protection: the first post again
            return Reply(200, self._made[key])
        self._count += 1
        made = {"id": str(110000000000000000 + self._count), "content": f"<p>{status}</p>",
                "visibility": visibility, "account": self._account(),
                "url": f"{self.base_url}/@releases/{110000000000000000 + self._count}"}  # fmt: skip
        record = {"status": status, "visibility": visibility, "key": key}

        def posted() -> None:  # the key is kept once the status is made, not when it failed
            if key:
                self._made[key] = made

        return Reply(200, made, record=record, posted=posted)

    def failure(self, status: int) -> Reply:
        if status == 429:
            return Reply(
                429, {"error": "Too many requests"}, headers={"X-RateLimit-Remaining": "0"}
            )
        return Reply(status, {"error": "We're sorry, but something went wrong on our end."})
