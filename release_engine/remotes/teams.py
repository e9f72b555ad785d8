"""Microsoft Teams: the release notes as an Adaptive Card, posted to each incoming webhook (a
Workflows flow "post to a channel when a webhook request is received", or a legacy
connector's URL).

Settings: ``teams_webhooks_env``, the environment variable holding the webhook URLs
(``RELEASE_TEAMS_WEBHOOKS``; several separated by spaces; unset: no Teams message). Its
channel in ``required_channels`` is ``teams``. Preflight posts each webhook a body that is
not JSON, which the flow refuses (``400``) without posting anything when the URL is right,
and which a wrong or revoked URL answers ``401``/``404``. The rehearsal's stand-in is
:class:`release_engine.standins.teams.TeamsStandIn`.

The body is the one Teams documents for both kinds of webhook: ``{"type": "message",
"attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content":
<AdaptiveCard 1.4>}]}``, the card holding the subject, the notes as a TextBlock (its Markdown
subset: headings become bold), the index and the image as facts, and an ``Action.OpenUrl``
to the GitHub release. Teams takes at most 28 KB a message: longer notes are cut and say
where the rest is. A Workflows webhook answers ``202 Accepted``, a legacy connector ``200``.

It is one POST of a JSON body, sent with urllib3 (:func:`.webhook.deliver`): pymsteams
builds the retired connectors' MessageCard, which Workflows does not post, and the Bot
Framework SDK is for bots, not webhooks.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ReleaseError
from ..spec import Spec
from .announce import Destination, Message
from .webhook import Webhooks, cut_short, deliver, probed, refused, webhooks_setting

if TYPE_CHECKING:
    from contextlib import ExitStack
    from pathlib import Path

    from ..context import ReleaseContext

__all__ = ["CARD", "MESSAGE_LIMIT", "Teams", "teams_message"]

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE_LIMIT = 28 * 1024  # bytes of a message, as Teams counts them
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _card(message: Message, notes: str) -> dict[str, Any]:
    links = message.links
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.subject, "weight": "Bolder", "size": "Large",
         "wrap": True},
        {"type": "TextBlock", "text": notes, "wrap": True},
    ]  # fmt: skip
    facts = [{"title": t, "value": v} for t, v in
             (("Package index", links.index), ("Image", links.image)) if v]  # fmt: skip
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    actions = [{"type": "Action.OpenUrl", "title": "GitHub release", "url": links.release}]
    content = {"$schema": _SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body,
               "actions": actions if links.release else []}  # fmt: skip
    attachment = {"contentType": CARD, "contentUrl": None, "content": content}
    return {"type": "message", "attachments": [attachment]}


def teams_message(message: Message, limit: int = MESSAGE_LIMIT) -> dict[str, Any]:
    """The webhook body: an Adaptive Card within *limit* bytes, as JSON sends it."""
    notes = re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", message.notes.strip(), flags=re.M)
    notes = notes or "*No release notes.*"
    where = f"[full release notes]({message.links.release})" if message.links.release else ""
    tail = f"*The notes are cut short here: read the {where or 'CHANGELOG'}.*"
    card, room = _card(message, notes), len(notes)
    size = len(json.dumps(card).encode())
    while size > limit and room > 0:  # cut in proportion: escaped, a character takes 1-12 bytes
        room = int(room * (limit - 512) / size)
        card = _card(message, cut_short(notes, room, tail))
        size = len(json.dumps(card).encode())
    return card


class Teams(Webhooks):
    """Teams incoming webhooks, from the environment variable ``teams_webhooks_env`` names."""

    order = 80
    name = channel = "teams"
    where, kind, service = "on Teams", "Teams message", "Teams"
    variable = "teams_webhooks_env"
    settings: ClassVar[dict[str, Spec]] = {
        "teams_webhooks_env": webhooks_setting("Teams", "RELEASE_TEAMS_WEBHOOKS"),
    }

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        post(to.address, teams_message(message), f"${self.env(ctx.config)}")
        return None

    def probe(self, url: str, variable: str) -> str | None:
        """A body that is not JSON: ``400`` when the URL is right, nothing posted."""
        headers = {"Content-Type": "application/json"}
        return probed(self.service, url, variable, "POST", data=b"-", headers=headers)

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ..standins.teams import TeamsStandIn

        return stack.enter_context(TeamsStandIn())


def post(url: str, body: dict[str, Any], check: str) -> None:
    """Post *body* to the webhook at *url* once; anything but accepted is one line."""
    answer = deliver("POST", url, "Teams", check, json=body)
    if answer.status_code in (200, 202):
        return
    if answer.status_code == 429:
        what = "rate limited, nothing posted; run again later"
    elif answer.status_code in (401, 403, 404, 410):
        what = f"the webhook is wrong, revoked or its flow is off; check {check}"
    else:
        what = "Teams refused the message; nothing was posted"
    raise ReleaseError(refused("Teams", url, answer, what))


REMOTE = Teams
