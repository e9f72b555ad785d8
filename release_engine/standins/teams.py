"""A Microsoft Teams incoming webhook for rehearsals: a Workflows flow "post to a channel when
a webhook request is received", answering as Teams documents it
(https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).

Its URL is a Workflows trigger's, ``/workflows/{id}/triggers/manual/paths/invoke?api-version=1
&sp=...&sig=<signature>``: the signature is the secret.

- ``POST`` a JSON message holding an Adaptive Card (``"type": "message"``, an attachment of
  ``application/vnd.microsoft.card.adaptive`` whose content is an ``AdaptiveCard``): posted
  (recorded), answered ``202 Accepted`` with no body.
- A body that is not JSON: ``400 InvalidRequestContent``; a JSON body that is no such
  message (a MessageCard of the retired connectors, no card): ``400``, the card the flow's
  "Post card" action could not post; over 28 KB: ``413``.
- A wrong signature: ``401 DirectApiAuthorizationRequired``; another flow: ``404``.
"""

from __future__ import annotations

__all__ = ["TeamsStandIn", "card_problem"]

import secrets
from typing import Any

from ._receiver import Receiver, Reply, Request

CARD = "application/vnd.microsoft.card.adaptive"
LIMIT = 28 * 1024


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def card_problem(body: Any) -> str | None:
    """Why *body* is not a message with an Adaptive Card that Teams posts; None when it is."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return 'the body is not a message ("type": "message")'
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "the message has no attachments"
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD:
            return f"an attachment is not an Adaptive Card ({CARD})"
        content = attachment.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            return 'an attachment\'s content is not "type": "AdaptiveCard"'
        if not isinstance(content.get("body", []), list):
            return "the card's body is not a list of elements"
    return None


class TeamsStandIn(Receiver):
    """One Teams webhook (a Workflows trigger) on 127.0.0.1; its URL is a secret."""

    name = "teams"

    def __init__(self) -> None:
        self.flow = secrets.token_hex(16)
        self.signature = secrets.token_urlsafe(32)
        self.path = f"/workflows/{self.flow}/triggers/manual/paths/invoke"
        super().__init__()

    @property
    def url(self) -> str:
        """The webhook URL; its signature makes it a secret."""
        query = f"api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.signature}"
        return f"{self.base_url}{self.path}?{query}"

    def answer(self, request: Request) -> Reply:
        if request.path != self.path:
            return Reply(404, _error("WorkflowNotFound", "The workflow could not be found."))
        if request.query.get("sig", [""])[0] != self.signature:
            return Reply(401, _error("DirectApiAuthorizationRequired",
                                     "The request must be authenticated."))  # fmt: skip
        if request.method != "POST":
            return Reply(405, _error("TriggerRequestMethodNotValid", "Use POST."))
        if len(request.body) > LIMIT:
            return Reply(413, _error("MessageSizeTooBig", f"The message exceeds {LIMIT} bytes."))
        try:
            body = request.json()
        except ValueError:
            return Reply(400, _error("InvalidRequestContent",
                                     "The request content is not valid JSON."))  # fmt: skip
        problem = card_problem(body)
        if problem is not None:
            return Reply(400, _error("InvalidRequestContent", problem))
        return Reply(202, None, record=body)

    def failure(self, status: int) -> Reply:
        if status == 429:
            limited = _error("TooManyRequests", "Rate limit is exceeded.")
            return Reply(429, limited, headers={"Retry-After": "2"})
        return Reply(status, _error("ServiceUnavailable", "The service is unavailable."))
