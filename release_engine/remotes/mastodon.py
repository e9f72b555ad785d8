"""Mastodon: a public post (a status) announcing the release, its notes cut to the server's
500 characters and the GitHub release linked.

Settings: ``mastodon_url``, the server's base URL (``https://mastodon.social``; empty: no
post), and ``mastodon_visibility`` (``public``); the account's access token is
``MASTODON_ACCESS_TOKEN`` (a secret; scopes ``write:statuses`` to post and ``profile`` or
``read:accounts`` for the check). Its channel in ``required_channels`` is ``mastodon``.
Preflight asks ``GET /api/v1/accounts/verify_credentials`` with the token (200, or 401 when
it is wrong) and posts nothing. The rehearsal's stand-in is
:class:`release_engine.standins.mastodon.MastodonStandIn`.

The post is ``POST /api/v1/statuses`` with ``status`` and ``visibility`` as a form, and an
``Idempotency-Key`` header, Mastodon's documented protection against a post made twice: the
destination's key and the release's tag, so even a POST sent again (a proxy's retry, a run
resumed within the hour Mastodon keeps the key) posts once. The notes are plain text (the
Markdown's marks dropped) cut to what fits beside the subject and the link; a URL counts as
its whole length here (Mastodon counts 23), so the status always fits.

It is one POST of a form, sent with urllib3 (:func:`.webhook.deliver`): Mastodon.py, the
maintained client, is a whole API client (OAuth app registration, streaming, media) and
would add a dependency to a release for this one request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from ..errors import ReleaseError
from ..spec import Spec, url
from .announce import Channel, Destination, Message, destination_key
from .webhook import cut_short, deliver, refused

if TYPE_CHECKING:
    from contextlib import ExitStack
    from pathlib import Path

    from ..config import Credentials, ReleaseConfig
    from ..context import ReleaseContext
    from . import Check, Rehearsing

__all__ = [
    "STATUS_LIMIT",
    "TOKEN",
    "Mastodon",
    "account",
    "check",
    "mastodon_status",
    "post_status",
]

STATUS_LIMIT = 500  # characters of a status on a server with Mastodon's default limit
TOKEN = "MASTODON_ACCESS_TOKEN"
VISIBILITIES = ("public", "unlisted", "private", "direct")


def plain(notes: str) -> str:
    """Keep a Changelog Markdown as plain text: headings end in a colon, links keep their
    text, emphasis marks go."""
    text = re.sub(r"^#{1,6}\s+(.*)$", r"\1:", notes.strip(), flags=re.M)
    text = re.sub(r"\[([^\]]+)\]\([^)\s]+\)", r"\1", text)
    return re.sub(r"(\*\*|__|`)", "", text)


def mastodon_status(message: Message, limit: int = STATUS_LIMIT) -> str:
    """The subject, as much of the notes as fits, and the GitHub release, in *limit*."""
    link = message.links.release
    head = message.subject[: limit // 2]
    room = limit - len(head) - (len(link) + 2 if link else 0) - 2
    notes = cut_short(plain(message.notes), room, "…") if room > 1 else ""
    return "\n\n".join(part for part in (head, notes, link) if part)


def post_status(server: str, token: str, status: str, *, visibility: str, key: str) -> None:
    """Post *status* once (the same *key* again is answered with the first post)."""
    answer = deliver(
        "POST", f"{server.rstrip('/')}/api/v1/statuses", "Mastodon", "mastodon_url",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        data={"status": status, "visibility": visibility},
    )  # fmt: skip
    if answer.status_code == 200:
        return
    if answer.status_code in (401, 403):
        what = f"the access token is wrong, revoked or lacks write:statuses; check {TOKEN}"
    elif answer.status_code == 429:
        what = "rate limited, nothing posted; run again later"
    else:
        what = "Mastodon refused the post; nothing was posted"
    raise ReleaseError(refused("Mastodon", server, answer, what))


def check(server: str, token: str) -> str | None:
    """Log in as the post will (``verify_credentials``), posting nothing; None when fine."""
    where = f"{server.rstrip('/')}/api/v1/accounts/verify_credentials"
    try:
        answer = deliver("GET", where, "Mastodon", "mastodon_url", timeout=10.0,
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    except ReleaseError as exc:
        return str(exc)
    if answer.status_code in (401, 403):
        return refused("Mastodon", server, answer, f"the access token is refused; check {TOKEN}")
    if answer.status_code == 404:
        return refused("Mastodon", server, answer, "no Mastodon API there; check mastodon_url")
    if answer.status_code != 200:
        return refused("Mastodon", server, answer, "try later")
    return None


def account(server: str) -> Destination:
    """The one destination: the account on *server* (shown by its host; the token is the
    secret, not the server)."""
    server = server.rstrip("/")
    return Destination(destination_key(f"mastodon {server}"), urlsplit(server).netloc, server)


class Mastodon(Channel):
    """A post on the Mastodon account whose token is ``MASTODON_ACCESS_TOKEN``."""

    order = 70
    name = channel = "mastodon"
    where, kind, unit = "on Mastodon", "Mastodon post", "account"
    settings: ClassVar[dict[str, Spec]] = {
        "mastodon_url": url("the Mastodon server the release is posted on; empty: none"),
        "mastodon_visibility": Spec("str", "who sees the Mastodon post", "public",
                                    choices=VISIBILITIES),
    }  # fmt: skip

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return (TOKEN,)

    def missing(self, config: ReleaseConfig, credentials: Credentials) -> list[str]:
        if config.mastodon_url and not credentials.get(TOKEN):
            return [f"mastodon_url is set but {TOKEN} is not: export the account's access token "
                    "(scope write:statuses), or empty mastodon_url"]  # fmt: skip
        return []

    def lacking(self, config: ReleaseConfig, credentials: Credentials) -> str | None:
        if not config.mastodon_url:
            return ("mastodon is a required channel but mastodon_url is empty: set it in "
                    "[tool.release] (or --set), or pass --skip-channels")  # fmt: skip
        if not credentials.get(TOKEN):
            return (f"mastodon is a required channel but {TOKEN} is not set: export the "
                    "account's access token, or pass --skip-channels")  # fmt: skip
        return None

    def destinations(self, ctx: ReleaseContext) -> list[Destination]:
        return [account(ctx.config.mastodon_url)] if ctx.config.mastodon_url else []

    def absent(self, ctx: ReleaseContext) -> str:
        return "no mastodon_url in [tool.release]"

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        token = ctx.credentials.get(TOKEN) or ""
        post_status(to.address, token, mastodon_status(message),
                    visibility=ctx.config.mastodon_visibility,
                    key=f"{to.key}-{message.prefix}{ctx.tag}")  # fmt: skip
        return None

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        server, token = ctx.config.mastodon_url, ctx.credentials.get(TOKEN)
        if not (server and token):  # no token: missing() says so
            return {}
        return {"mastodon": lambda: check(server, token)}

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ..standins.mastodon import MastodonStandIn

        return stack.enter_context(MastodonStandIn())

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        if stand_in is None or not rehearsing.config.mastodon_url:  # not configured: none
            return
        rehearsing.settings["mastodon_url"] = stand_in.url
        rehearsing.environment[TOKEN] = stand_in.token


REMOTE = Mastodon
