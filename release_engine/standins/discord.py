"""A Discord webhook for rehearsals, answering as Discord's API documents "Execute Webhook"
and "Get Webhook with Token" (https://discord.com/developers/docs/resources/webhook).

- ``POST /api/webhooks/{id}/{token}``: a JSON body with ``content`` and/or ``embeds`` is
  posted (recorded) and answered ``204 No Content``, or ``200`` with the message object with
  ``?wait=true``. Discord's limits are enforced as it enforces them, ``400`` with its error
  codes: invalid JSON (50109), an empty message (50006), and ``Invalid Form Body`` (50035) for
  ``content`` over 2000 characters, more than 10 embeds, a title over 256 or a description
  over 4096, a field's value over 1024, or over 6000 characters in all embeds.
- ``GET`` the same URL: the webhook object (nothing posted).
- Any other id or token: ``404 {"message": "Unknown Webhook", "code": 10015}``.
- :meth:`fail_next` with 429 answers as Discord's rate limit does (``retry_after``).
"""

from __future__ import annotations

__all__ = ["DiscordStandIn", "form_errors"]

import secrets
from typing import Any

from ._receiver import Receiver, Reply, Request

UNKNOWN_WEBHOOK = {"message": "Unknown Webhook", "code": 10015}
_LIMITS = {"title": 256, "description": 4096}


def _too_long(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                         "message": f"Must be {limit} or fewer in length."}]}  # fmt: skip


def _embed_errors(embed: Any) -> tuple[dict[str, Any], int]:
    """One embed's errors by field, and the characters it counts towards the 6000."""
    if not isinstance(embed, dict):
        return {"_errors": [{"code": "MODEL_TYPE_CONVERT", "message": "Only dictionaries"}]}, 0
    errors, size = {}, 0
    for key, limit in _LIMITS.items():
        text = str(embed.get(key) or "")
        size += len(text)
        if len(text) > limit:
            errors[key] = _too_long(limit)
    for n, field in enumerate(embed.get("fields") or []):
        value, name = str(field.get("value") or ""), str(field.get("name") or "")
        size += len(value) + len(name)
        if len(value) > 1024 or not value or not name:
            errors.setdefault("fields", {})[str(n)] = {"value": _too_long(1024)}
    return errors, size


def form_errors(body: Any) -> dict[str, Any] | None:
    """Discord's answer to a body it refuses (a 400), or None when it would post it."""
    if not isinstance(body, dict) or not (body.get("content") or body.get("embeds")):
        return {"message": "Cannot send an empty message", "code": 50006}
    errors: dict[str, Any] = {}
    if len(str(body.get("content") or "")) > 2000:
        errors["content"] = _too_long(2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = _too_long(10)
    total = 0
    for n, embed in enumerate(embeds[:10]):
        found, size = _embed_errors(embed)
        total += size
        if found:
            errors.setdefault("embeds", {})[str(n)] = found
    if total > 6000:
        errors.setdefault("embeds", {})["_errors"] = [
            {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": "Embed size exceeds maximum size of 6000",
            }
        ]
    if errors:
        return {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    return None


class DiscordStandIn(Receiver):
    """One Discord webhook on 127.0.0.1: its URL (id and token) is a secret."""

    name = "discord"

    def __init__(self) -> None:
        self.id = str(secrets.randbelow(10**18) + 10**18)
        self.token = secrets.token_urlsafe(51)
        self.path = f"/api/webhooks/{self.id}/{self.token}"
        self._posted = 0
        super().__init__()

    @property
    def url(self) -> str:
        """The webhook URL; its token makes it a secret."""
        return f"{self.base_url}{self.path}"

    def _webhook(self) -> dict[str, Any]:
        return {"type": 1, "id": self.id, "name": "Releases", "avatar": None,
                "channel_id": "1100000000000000001", "guild_id": "1100000000000000002",
                "application_id": None, "token": self.token}  # fmt: skip

    def answer(self, request: Request) -> Reply:
        if request.path.rstrip("/") != self.path:
            return Reply(404, UNKNOWN_WEBHOOK)
        if request.method == "GET":
            return Reply(200, self._webhook())
        if request.method != "POST":
            return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
        try:
            body = request.json()
        except ValueError:
            return Reply(400, {"message": "The request body contains invalid JSON.", "code": 50109})
        refused = form_errors(body)
        if refused is not None:
            return Reply(400, refused)
        if request.query.get("wait", [""])[0].lower() != "true":
            return Reply(204, None, record=body)
        self._posted += 1
        saved = {"id": str(int(self.id) + self._posted), "type": 0, "webhook_id": self.id,
                 "channel_id": "1100000000000000001", "content": body.get("content", ""),
                 "embeds": body.get("embeds", [])}  # fmt: skip
        return Reply(200, saved, record=body)

    def failure(self, status: int) -> Reply:
        if status == 429:
            limited = {
                "message": "You are being rate limited.",
                "retry_after": 1.5,
                "global": False,
            }
            return Reply(429, limited, headers={"Retry-After": "2"})
        return Reply(status, {"message": f"{status}: Server Error", "code": 0})
