"""Discord: the release notes as an embed, posted to each webhook (Discord's "Execute Webhook",
``POST /api/webhooks/{id}/{token}``).

Settings: ``discord_webhooks_env``, the environment variable holding the webhook URLs
(``RELEASE_DISCORD_WEBHOOKS``; several separated by spaces; unset: no Discord message). Its
channel in ``required_channels`` is ``discord``. Preflight reads each webhook (``GET`` its
URL answers the webhook object, ``404 Unknown Webhook`` when wrong or deleted) and posts
nothing. The rehearsal's stand-in is :class:`release_engine.standins.discord.DiscordStandIn`.

The message keeps to Discord's documented limits: ``content`` at most 2000 characters, an
embed's title 256 and description 4096, at most 6000 characters in all of a message's embeds;
notes longer than that are cut and end with a link to the GitHub release. It is sent with
``?wait=true``, so Discord answers once the message is saved (200, not 204), and mentions in
the notes notify nobody (``allowed_mentions``).

It is one POST of a JSON body, sent with urllib3 (:func:`.webhook.deliver`): the Python
SDKs (discord.py and its forks, discord-webhook) are bot frameworks or wrappers of this same
request that retry on a rate limit by themselves, and a retried POST is what at most once
must not do.
"""

from __future__ import annotations

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

__all__ = ["CONTENT_LIMIT", "DESCRIPTION_LIMIT", "EMBEDS_LIMIT", "Discord", "discord_message"]

CONTENT_LIMIT = 2000  # characters of a message's content
TITLE_LIMIT = 256  # of an embed's title
DESCRIPTION_LIMIT = 4096  # of an embed's description
FIELD_LIMIT = 1024  # of a field's value
EMBEDS_LIMIT = 6000  # of every embed of a message together


def discord_markdown(notes: str) -> str:
    """Keep a Changelog Markdown as Discord shows it in an embed: headings in bold."""
    return re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", notes.strip(), flags=re.M)


def discord_message(message: Message) -> dict[str, Any]:
    """The Execute Webhook body: the subject and release link as content, the notes as an
    embed linking the release, the index and the image as fields."""
    links = message.links
    where = f"[full release notes]({links.release})" if links.release else "CHANGELOG"
    tail = f"*The notes are cut short here: read the {where}.*"
    notes = discord_markdown(message.notes) or "*No release notes.*"
    embed: dict[str, Any] = {
        "title": message.subject[:TITLE_LIMIT],
        "description": cut_short(notes, DESCRIPTION_LIMIT, tail),
    }
    if links.release:
        embed["url"] = links.release
    fields = [("Package index", links.index), ("Image", f"`{links.image}`" if links.image else "")]
    embed["fields"] = [{"name": n, "value": v[:FIELD_LIMIT]} for n, v in fields if v]
    content = f"{message.subject}: {links.release}" if links.release else message.subject
    return {
        "content": content[:CONTENT_LIMIT],
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


class Discord(Webhooks):
    """Discord webhooks, from the environment variable ``discord_webhooks_env`` names."""

    order = 60
    name = channel = "discord"
    where, kind, service = "on Discord", "Discord message", "Discord"
    variable = "discord_webhooks_env"
    settings: ClassVar[dict[str, Spec]] = {
        "discord_webhooks_env": webhooks_setting("Discord", "RELEASE_DISCORD_WEBHOOKS"),
    }

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        post(to.address, discord_message(message), f"${self.env(ctx.config)}")
        return None

    def probe(self, url: str, variable: str) -> str | None:
        """``GET`` the webhook: its object when right, ``404 Unknown Webhook`` when wrong."""
        return probed(self.service, url, variable, "GET")

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ..standins.discord import DiscordStandIn

        return stack.enter_context(DiscordStandIn())


def post(url: str, body: dict[str, Any], check: str) -> None:
    """Execute the webhook at *url* once; anything but a saved message is one line."""
    answer = deliver("POST", url, "Discord", check, json=body, params={"wait": "true"})
    if answer.status_code in (200, 204):
        return
    if answer.status_code == 429:
        retry = answer.headers.get("Retry-After") or "a while"
        what = f"rate limited, nothing posted; run again after {retry} s"
    elif answer.status_code in (401, 403, 404):
        what = f"the webhook is wrong or deleted; check {check}"
    else:
        what = "Discord refused the message; nothing was posted"
    raise ReleaseError(refused("Discord", url, answer, what))


REMOTE = Discord
