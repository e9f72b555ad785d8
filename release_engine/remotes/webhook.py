"""What the announcers that post to a service over HTTP share: one request with a timeout,
never retried, whose failure is one line (:func:`deliver`, :func:`refused`), and
:class:`Webhooks`, a channel whose destinations are webhook URLs held by an environment
variable a setting names.

A webhook URL carries its secret in its path: no message here names more than its scheme,
host and port (:func:`~release_engine.remotes.announce.shown_url`). Each announcer's module
says why it sends one request (through :func:`.web.fetch`) rather than its service's SDK.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ReleaseError
from ..netcause import unreachable
from ..spec import Spec
from .announce import Channel, Destination, destination_key, shown_url
from .probe import TIMEOUT

if TYPE_CHECKING:
    from ..config import Credentials, ReleaseConfig
    from ..context import ReleaseContext
    from . import Check, Rehearsing
    from .web import Answer

__all__ = [
    "SEND_TIMEOUT",
    "Webhooks",
    "answered",
    "cut_short",
    "deliver",
    "probed",
    "refused",
    "said",
    "webhooks_setting",
]

SEND_TIMEOUT = 30.0


def cut_short(text: str, limit: int, tail: str) -> str:
    """*text* when it fits in *limit* characters; else as much as fits, cut at a line end
    where one is near, followed by *tail* (what says where the rest is)."""
    if len(text) <= limit:
        return text
    room = max(limit - len(tail) - 1, 0)
    kept = text[:room]
    at = kept.rfind("\n")
    if at > room // 2:
        kept = kept[:at]
    return f"{kept.rstrip()}\n{tail}" if room else tail[:limit]


def said(response: Answer) -> str:
    """What a refusal says, in a few words: its JSON ``message``/``error``, or its text."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        inner = body.get("error")
        inner = inner.get("message") if isinstance(inner, dict) else inner
        fields = body.get("errors")  # a form's errors, by field
        named = f" ({', '.join(sorted(fields))})" if isinstance(fields, dict) and fields else ""
        body = f"{body.get('message') or inner or ''}{named}"
    return " ".join(str(body).split())[:80]


def refused(service: str, url: str, response: Answer, what: str) -> str:
    """``SERVICE at scheme://host answered STATUS WORDS: WHAT`` (the URL's path left out)."""
    words = said(response)
    return (
        f"{service} at {shown_url(url)} answered {response.status_code}"
        + (f" {words}" if words else "")
        + f": {what}"
    )


def deliver(
    method: str, url: str, service: str, check: str, *, timeout: float = SEND_TIMEOUT, **kwargs: Any
) -> Answer:
    """One request to *url*, not retried (a retried POST could post twice) and not
    redirected; unreachable is a ReleaseError of one line saying to check *check*. *kwargs*
    are :func:`.web.fetch`'s: ``params``, ``headers``, ``data`` (bytes or a form), ``json``."""
    from . import web

    try:
        return web.fetch(method, url, timeout=timeout, follow=False, **kwargs)
    except web.Failure as exc:
        raise ReleaseError(f"{unreachable(service, url, exc)}: check {check}") from None


def webhooks_setting(service: str, default: str) -> Spec:
    """The setting naming the environment variable that holds a service's webhook URLs."""
    return Spec("str", f"the environment variable holding the {service} webhook URLs", default,
                pattern=r"[A-Za-z_][A-Za-z0-9_]*",
                hint=f"use an environment variable's name such as {default}")  # fmt: skip


class Webhooks(Channel):
    """An announcer posting to the webhook URLs in the environment variable its setting
    :attr:`variable` names (several separated by spaces); each one a destination."""

    #: The setting naming the environment variable, e.g. ``<service>_webhooks_env``.
    variable: ClassVar[str]
    #: The service's name in output.
    service: ClassVar[str]

    def env(self, config: ReleaseConfig) -> str:
        name: str = getattr(config, self.variable)
        return name

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return (self.env(config),)

    def hooks(self, ctx: ReleaseContext) -> list[str]:
        return ctx.credentials.words(self.env(ctx.config))

    def destinations(self, ctx: ReleaseContext) -> list[Destination]:
        return [
            Destination(destination_key(hook), f"webhook {n}", hook)
            for n, hook in enumerate(self.hooks(ctx), start=1)
        ]

    def absent(self, ctx: ReleaseContext) -> str:
        return f"no webhooks in ${self.env(ctx.config)}"

    def lacking(self, config: ReleaseConfig, credentials: Credentials) -> str | None:
        if credentials.words(self.env(config)):
            return None
        return (
            f"{self.channel} is a required channel but ${self.env(config)} holds no webhook "
            f"URL: export the {self.service} webhook URLs, or pass --skip-channels"
        )

    def probe(self, url: str, variable: str) -> str | None:
        """None when the webhook at *url* will take a message, else why not (posting nothing)."""
        raise NotImplementedError

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        variable = self.env(ctx.config)
        return {
            f"{self.name} webhook {n}": lambda hook=hook: self.probe(hook, variable)  # type: ignore[misc]
            for n, hook in enumerate(self.hooks(ctx), 1)
        }

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        """The stand-in's URL in the variable, when the project's release would post here:
        the channel is required, or the variable holds webhooks where the rehearsal runs. A
        project that does not configure the channel rehearses without it, as it releases."""
        config, variable = rehearsing.config, self.env(rehearsing.config)
        wanted = self.channel in config.required_channels or os.environ.get(variable, "").strip()
        if stand_in is not None and wanted:
            rehearsing.environment[variable] = stand_in.url


def answered(service: str, url: str, answer: Answer, check: str) -> str | None:
    """A reach probe's verdict on a webhook's *answer*: wrong or revoked (401/403/404/410),
    down (5xx), or fine."""
    if answer.status_code in (401, 403, 404, 410):
        return refused(service, url, answer, f"the URL is wrong or revoked; check {check}")
    if answer.status_code >= 500:
        return refused(service, url, answer, "try later")
    return None


def probed(service: str, url: str, check: str, method: str, **kwargs: Any) -> str | None:
    """Ask the webhook *url* as :meth:`Webhooks.probe` does; unreachable is one line too."""
    try:
        answer = deliver(method, url, service, check, timeout=TIMEOUT, **kwargs)
    except ReleaseError as exc:
        return str(exc)
    return answered(service, url, answer, check)
