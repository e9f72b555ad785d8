"""Announcers: the channels that tell people of a release (the release process's
"Communication"), and the one protocol that sends each message at most once.

An announcer is a :class:`Channel` remote: it names its destinations (webhooks, a mail server,
an account) and sends one :class:`Message` to one of them. The rest is here, the same for
every channel: the :class:`Announce` step observes, plans and acts, for a release
(:class:`ReleaseNews`) and for a rollback (its news is the rollback's own).

A webhook, a mail server or a social network cannot be asked what it received, so what was
sent is recorded on the remote (:mod:`release_engine.tools.records`: every clone and CI runner
sees it), one record per step, one schema for every channel::

    {"sent": [<destination key>, ...], "pending": <destination key> | null}

Each destination is marked *pending* there before its message goes and *sent* after: a run
killed in between leaves *pending*, and the message is not sent again (at most once) but
reported done with a note to check it arrived. A send that failed (refused, unreachable)
clears the mark, so resuming sends it. A destination's key is a hash of what identifies it,
never the URL itself (a webhook's path is its secret).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from ..errors import ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..words import counted
from . import Remote

if TYPE_CHECKING:
    from ..config import Credentials, ReleaseConfig
    from ..context import ReleaseContext
    from ..plan import Step

__all__ = [
    "Announce",
    "Channel",
    "Destination",
    "Message",
    "News",
    "ReleaseLinks",
    "ReleaseNews",
    "destination_key",
    "release_links",
]


@dataclass(frozen=True)
class ReleaseLinks:
    """Where the release can be seen; an empty value is left out of a message."""

    release: str = ""  # the GitHub release page
    index: str = ""  # the project's page on the package index
    image: str = ""  # ``image:tag``, which is not a link


@dataclass(frozen=True)
class Message:
    """What every channel says, each in its own format: a subject, Markdown notes, links."""

    subject: str
    notes: str
    links: ReleaseLinks
    prefix: str = ""  # the news' (:attr:`News.prefix`): what a channel names its files by


@dataclass(frozen=True)
class Destination:
    """Where a channel sends: *key* is what the record holds, *shown* what output may name
    (no secret), *address* what the send uses."""

    key: str
    shown: str
    address: str


def destination_key(identity: str) -> str:
    """A record's name for a destination: a hash, so a secret URL is never written down."""
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def shown_url(url: str) -> str:
    """A secret-bearing URL as output may show it: scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def release_links(ctx: ReleaseContext) -> ReleaseLinks:
    """The GitHub release, the project's page on the index, and the pushed image."""
    from packaging.utils import canonicalize_name

    release = ctx.github.release_for_tag(ctx.tag) if ctx.github is not None else None
    simple, name = ctx.config.index_simple_url, canonicalize_name(ctx.config.package)
    host = urlsplit(simple).hostname or ""
    if host in ("pypi.org", "test.pypi.org"):
        page = f"https://{host}/project/{name}/{ctx.version.pep440}/"
    else:
        page = f"{simple.rstrip('/')}/{name}/" if simple else ""
    image = f"{ctx.config.image}:{ctx.tag}" if ctx.config.image and ctx.container else ""
    return ReleaseLinks(release.html_url if release else "", page, image)


class News:
    """What is announced: a release, or a rollback. *prefix* names its steps and records."""

    prefix: ClassVar[str] = ""
    about: ClassVar[str] = ""  # what the step's title announces: "release", "rollback"

    def message(self, ctx: ReleaseContext) -> Message:
        raise NotImplementedError


class ReleaseNews(News):
    about = "release"

    def message(self, ctx: ReleaseContext) -> Message:
        """Built when sent, from the CHANGELOG section the tag holds by then."""
        from ..steps.common import release_notes

        subject = f"{ctx.config.package} {ctx.version} released"
        return Message(subject, release_notes(ctx), release_links(ctx), self.prefix)


class Channel(Remote):
    """A remote that announces: its destinations, and how one message reaches one."""

    #: Its name in ``required_channels``, its step's and its record's.
    channel: ClassVar[str]
    #: Where its step's title says it announces, e.g. "by email".
    where: ClassVar[str]
    #: What one message is, for the dry run's line, e.g. "email".
    kind: ClassVar[str]
    #: What one destination is, counted in the step's detail, e.g. "webhook".
    unit: ClassVar[str] = "webhook"

    def destinations(self, ctx: ReleaseContext) -> list[Destination]:
        raise NotImplementedError

    def absent(self, ctx: ReleaseContext) -> str:
        """Why it has no destination in this run (the step is then skipped)."""
        raise NotImplementedError

    def lacking(self, config: ReleaseConfig, credentials: Credentials) -> str | None:
        """When ``required_channels`` names it: what it lacks to be reached, or None."""
        raise NotImplementedError

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        """Send *message* once; a ReleaseError when nothing was delivered. A partial
        delivery returns the line that says what to do for the rest."""
        raise NotImplementedError

    def prepare(self, ctx: ReleaseContext, news: News) -> list[Action]:
        """What is made before sending, every run (the email's file); none by default."""
        return []

    def prepared(self, ctx: ReleaseContext, news: News) -> Observation | None:
        """With no destination: what is observed of :meth:`prepare`'s work, or None."""
        return None

    def release_steps(self) -> tuple[Step, ...]:
        return (Announce(self, ReleaseNews()),)

    def rollback_steps(self) -> tuple[Step, ...]:
        from ..steps.rollback_news import RollbackNews

        return (Announce(self, RollbackNews()),)


class Announce(StepBase):
    """Send *news* through *channel* to each of its destinations, once."""

    def __init__(self, channel: Channel, news: News) -> None:
        self.channel, self.news = channel, news
        self.name, self.record = channel.channel, f"{news.prefix}{channel.channel}"
        self.title = f"{news.about.capitalize()} news {channel.where}"

    def _record(self, ctx: ReleaseContext) -> tuple[set[str], str | None]:
        """The destinations sent to, and the one a run was sending to when it stopped."""
        found = ctx.records.read(self.record) or {}
        if "status" in found:  # an email record of an earlier version: one destination
            keys = [p.key for p in self.channel.destinations(ctx)][:1]
            status = found["status"]
            return (set(keys) if status == "sent" else set()), (
                keys[0] if status == "pending" and keys else None
            )
        return set(found.get("sent") or []), found.get("pending")

    def observe(self, ctx: ReleaseContext) -> Observation:
        places = self.channel.destinations(ctx)
        if not places:
            return self.channel.prepared(ctx, self.news) or Observation.skipped(
                self.channel.absent(ctx)
            )
        sent, pending = self._record(ctx)
        left = [p for p in places if p.key not in sent | {pending}]
        unit = self.channel.unit
        if left:
            return Observation.pending(f"send to {counted(len(left), unit)}")
        told = f"sent to {counted(len(places), unit)}"
        if pending is not None and pending in {p.key for p in places}:
            return Observation.done(
                f"{told}, one at most once: a run was stopped while sending to it, so it is "
                "not sent again; check the message arrived"
            )
        return Observation.done(told)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        """For each destination not sent to: its mark on the remote, the message, the mark
        that it was sent; each its own action, so a dry run shows the pushes and the send."""
        found = self.channel.prepare(ctx, self.news)
        sent, pending = self._record(ctx)
        for place in self.channel.destinations(ctx):
            if place.key in sent or place.key == pending:
                continue
            done = frozenset(sent)  # before sending: a kill cannot send twice
            text = f"send the {self.channel.kind} to <{place.shown}>: {self.news.about}"
            found += [
                self._marking(ctx, {"sent": sorted(done), "pending": place.key}),
                Call(text, lambda place=place, done=done: self._send(ctx, place, done)),  # type: ignore[misc]
                self._marking(ctx, {"sent": sorted(done | {place.key}), "pending": None}),
            ]
            sent = set(done | {place.key})
        return found

    def _send(self, ctx: ReleaseContext, place: Destination, done: frozenset[str]) -> None:
        try:
            partly = self.channel.send(ctx, place, self.news.message(ctx))
        except ReleaseError:
            ctx.records.write(self.record, {"sent": sorted(done), "pending": None})  # resume sends
            raise
        if partly:  # delivered to some: marked sent (never again), the rest said
            ctx.records.write(self.record, {"sent": sorted(done | {place.key}), "pending": None})
            raise ReleaseError(partly)

    def _marking(self, ctx: ReleaseContext, record: dict[str, object]) -> Call:
        text = ctx.records.write_text(self.record, record)
        return Call(text, lambda: ctx.records.write(self.record, record))
