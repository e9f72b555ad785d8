"""Slack: the internal announcement, a message to each incoming webhook with the notes as
Block Kit blocks.

Settings: ``notify_webhooks_env``, the environment variable holding the webhook URLs
(``RELEASE_NOTIFY_WEBHOOKS``; several are separated by spaces); its channel in
``required_channels`` is ``notify``. Preflight posts each webhook a payload that is not JSON,
which Slack refuses (``400 invalid_payload``) without posting anything when the URL is right
and answers ``403``/``404`` (``invalid_token``, ``no_service``) when it is revoked or wrong.
The rehearsal's stand-in is :class:`release_engine.standins.sink.NotificationSink`.

The blocks are built with ``slack_sdk.models.blocks`` and sent with ``slack_sdk``'s
``WebhookClient``; a plain ``text`` fallback is kept for clients that show no blocks. The
release notes are converted to Slack's mrkdwn and split to Slack's limits (3000 characters a
section, 50 blocks a message); what does not fit is replaced by a link to the full notes.
A webhook URL carries its secret in its path, so no message or log here names the URL.
"""

from __future__ import annotations

import logging
import re
import urllib.error
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from ..errors import ReleaseError
from ..netcause import unreachable
from ..spec import Spec
from .announce import Destination, Message, ReleaseLinks, shown_url
from .probe import TIMEOUT
from .webhook import Webhooks, webhooks_setting

if TYPE_CHECKING:
    from contextlib import ExitStack
    from pathlib import Path

    from slack_sdk.models.blocks import Block

    from ..context import ReleaseContext
    from . import Rehearsing

# slack_sdk is imported where a message is made or sent: a quarter of a second that every
# other command (a status, a dry run, the task list) would otherwise pay.

__all__ = [
    "BLOCK_LIMIT",
    "SECTION_LIMIT",
    "Slack",
    "post_message",
    "slack_blocks",
    "slack_message",
    "to_mrkdwn",
]

SECTION_LIMIT = 3000  # characters of a section block's text
BLOCK_LIMIT = 50  # blocks of one message
HEADER_LIMIT = 150  # characters of a header block's plain text

# slack_sdk logs each request with its URL at debug level: its records go nowhere.
_LOG = logging.getLogger("release_engine.slack")
_LOG.propagate = False
_LOG.addHandler(logging.NullHandler())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Keep a Changelog Markdown as Slack mrkdwn: headings bold, bullets, links, bold."""
    lines = []
    for line in _escape(markdown).splitlines():
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            line = f"*{heading[1].strip()}*"
        else:
            line = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", line)
            line = re.sub(r"\*\*(.+?)\*\*", r"*\1*", line)
        lines.append(re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"<\2|\1>", line))
    return "\n".join(lines).strip()


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """*text* in pieces of at most *limit* characters, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        while len(line) > limit:  # a line longer than a section is cut where it must be
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            pieces.append(current)
            joined = line
        current = joined
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _links_text(links: ReleaseLinks) -> str:
    parts = []
    if links.release:
        parts.append(f"<{links.release}|GitHub release>")
    if links.index:
        parts.append(f"<{links.index}|Package index>")
    if links.image:
        parts.append(f"Image `{_escape(links.image)}`")
    return " · ".join(parts)


def slack_blocks(title: str, notes: str, links: ReleaseLinks) -> list[Block]:
    """A header, the notes as mrkdwn sections within Slack's limits, then the links."""
    from slack_sdk.models.blocks import HeaderBlock, MarkdownTextObject, SectionBlock

    blocks: list[Block] = [HeaderBlock(text=title[:HEADER_LIMIT])]
    footer = _links_text(links)
    room = BLOCK_LIMIT - len(blocks) - (1 if footer else 0)
    sections = _chunks(to_mrkdwn(notes)) or ["_No release notes._"]
    if len(sections) > room:
        more = f"<{links.release}|full release notes>" if links.release else "the CHANGELOG"
        sections = [*sections[: room - 1], f"_The notes are cut short here: read the {more}._"]
    blocks += [SectionBlock(text=MarkdownTextObject(text=s)) for s in sections]
    if footer:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=footer)))
    return blocks


def slack_message(title: str, notes: str, links: ReleaseLinks) -> dict[str, Any]:
    """The incoming-webhook body: a plain ``text`` fallback and the Block Kit ``blocks``."""
    text = f"{title}. {links.release}".strip() if links.release else f"{title}."
    blocks = [block.to_dict() for block in slack_blocks(title, notes, links)]
    return {"text": text, "blocks": blocks}


def post_message(url: str, message: dict[str, Any], *, timeout: int = 30) -> None:
    """Send *message* to the webhook *url* once; a refusal or a network failure is a
    ReleaseError of one line naming the webhook's host only."""
    host = urlsplit(url).netloc.rpartition("@")[2]
    from slack_sdk.webhook import WebhookClient

    client = WebhookClient(url, timeout=timeout, logger=_LOG, retry_handlers=[])
    try:
        response = client.send_dict(message)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReleaseError(f"could not reach the webhook at {host}: {reason}") from None
    if not 200 <= response.status_code < 300:
        answer = " ".join(str(response.body).split())[:80]
        raise ReleaseError(f"the webhook at {host} answered {response.status_code} {answer}")


class Slack(Webhooks):
    """Slack incoming webhooks, from the environment variable ``notify_webhooks_env`` names."""

    order = 40
    name, channel = "slack", "notify"
    where, kind, service = "on Slack", "Slack message", "Slack"
    variable = "notify_webhooks_env"
    settings: ClassVar[dict[str, Spec]] = {
        "notify_webhooks_env": webhooks_setting("Slack", "RELEASE_NOTIFY_WEBHOOKS"),
    }

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        post_message(to.address, slack_message(message.subject, message.notes, message.links))
        return None

    def probe(self, url: str, variable: str) -> str | None:
        return _probe(url, variable)

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ..standins.sink import NotificationSink

        return stack.enter_context(NotificationSink())

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        """Always the stand-in: the project requires this channel (and a rehearsal that sent
        the team nothing would show less than the release does)."""
        rehearsing.environment[self.env(rehearsing.config)] = stand_in.url


def _probe(url: str, variable: str) -> str | None:
    """Post a payload that is not JSON: Slack answers ``400 invalid_payload`` without posting
    anything when the URL is right, ``403``/``404`` (``invalid_token``, ``no_service``) when it
    is revoked or wrong. The URL's path is its secret: only scheme, host and port are named."""
    from . import web

    try:
        answer = web.fetch(
            "POST", url, data=b"-", headers={"Content-Type": "application/json"}, timeout=TIMEOUT
        )
    except web.Failure as exc:
        return unreachable("a webhook", url, exc) + f": check {variable}"
    if answer.status_code in (403, 404, 410):
        said = " ".join(answer.text.split())[:40]
        return (
            f"a webhook ({shown_url(url)}) answered {answer.status_code} {said}: the URL is "
            f"wrong or revoked; check {variable}"
        )
    if answer.status_code >= 500:
        return f"a webhook ({shown_url(url)}) answered {answer.status_code}: try later"
    return None


REMOTE = Slack
