"""Mail: the release notes by email to customers, a text + HTML message written to a file
(``release-notes.eml`` in the release's state directory) and sent over SMTP when configured.

Settings: ``smtp_host`` (empty: the email is only written), ``smtp_port``, ``smtp_starttls``,
``email_from``, ``email_to``; the login is ``SMTP_USERNAME`` and ``SMTP_PASSWORD``. Its
channel in ``required_channels`` is ``email``. Preflight connects, STARTTLS and logs in as the
send will, then quits. The rehearsal swaps the server for
:class:`release_engine.standins.smtp.SmtpStandIn` only when one is configured: a project
without one sends no email when it releases, so its rehearsal sends none either.

The Markdown section is rendered to HTML with ``markdown-it-py`` (CommonMark) and kept as the
text part as it is; the message is an ``email.message.EmailMessage`` that ``smtplib`` sends,
with STARTTLS and a login when configured. No message here names the password.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ReleaseError
from ..plan import Action, Call, Observation
from ..spec import Spec
from ..words import counted
from .announce import Channel, Destination, Message, News, destination_key

if TYPE_CHECKING:
    from contextlib import ExitStack

    from ..config import Credentials, ReleaseConfig
    from ..context import ReleaseContext
    from . import Check, Rehearsing

__all__ = ["Mail", "SmtpServer", "check", "compose", "render_html", "send", "write_message"]


@dataclass(frozen=True)
class SmtpServer:
    """Where the email goes, and how: STARTTLS, and a login when a username is given."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    tls_context: ssl.SSLContext | None = None  # None: the system's trusted CAs

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" + (" (STARTTLS)" if self.starttls else "")


def render_html(title: str, markdown: str) -> str:
    """A simple HTML document: *title* as its heading, *markdown* rendered below it."""
    from markdown_it import MarkdownIt  # here: only an email needs it

    body = MarkdownIt("commonmark").render(markdown)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        f"<body>\n<h1>{escape(title)}</h1>\n{body}</body></html>\n"
    )


def compose(
    *, title: str, notes: str, sender: str, recipients: tuple[str, ...], link: str = ""
) -> EmailMessage:
    """The release notes *notes* (Markdown) as a multipart/alternative text + HTML email."""
    footer = f"\n\nFull release notes: {link}\n" if link else "\n"
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = sender or "release@localhost"
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="release.localhost")
    message.set_content(f"{title}\n\n{notes.strip()}{footer}")
    html_notes = notes if not link else f"{notes}\n\n[Full release notes]({link})\n"
    message.add_alternative(render_html(title, html_notes), subtype="html")
    return message


def write_message(message: EmailMessage, path: Path) -> None:
    """Write *message* as an ``.eml`` file (written aside, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".eml.partial")
    partial.write_bytes(message.as_bytes())
    partial.replace(path)


def send(message: EmailMessage, server: SmtpServer, *, timeout: float = 30) -> list[str]:
    """Send *message* through *server*; return the recipients the server refused (when it took
    the others). A failure that delivered to no one is one ReleaseError."""
    with _session(server, timeout, "send the release notes through") as smtp:
        refused = smtp.send_message(message)
    return sorted(refused)


def check(server: SmtpServer, *, timeout: float = 10) -> None:
    """Reach *server* as :func:`send` would — connect, STARTTLS, log in — and send nothing.
    A :class:`ReleaseError` saying what failed otherwise."""
    with _session(server, timeout, "reach"):
        pass


@contextmanager
def _session(server: SmtpServer, timeout: float, doing: str) -> Iterator[smtplib.SMTP]:
    """A connected, secured and logged-in SMTP session; what goes wrong, in one sentence."""
    try:
        with smtplib.SMTP(server.host, server.port, timeout=timeout) as smtp:
            smtp.ehlo()
            if server.starttls:
                context = server.tls_context or ssl.create_default_context()
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password or "")
            yield smtp
    except smtplib.SMTPAuthenticationError as exc:
        raise ReleaseError(
            f"the mail server at {server.host}:{server.port} refused the login "
            f"({exc.smtp_code}): check SMTP_USERNAME and SMTP_PASSWORD"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise ReleaseError(
            f"the mail server at {server.host}:{server.port} does not support {exc}: "
            "check [tool.release] smtp_starttls"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ReleaseError(
            f"could not {doing} the mail server {server.host}:{server.port}: {reason}"
        ) from None


_ADDRESS = r"[^@\s<>]+@[^@\s<>]+"
_MAIL = rf"{_ADDRESS}|[^<>@]*<{_ADDRESS}>"  # a@b.c, or Name <a@b.c>
_MAIL_HINT = "use an email address such as team@example.com or Team <team@example.com>"


class Mail(Channel):
    """The release notes email: always written, sent when ``smtp_host`` is set."""

    stand_in_needs = ("aiosmtpd",)
    order = 50
    name, channel = "mail", "email"
    where, kind, unit = "by email", "email", "mail server"
    public = frozenset({"SMTP_USERNAME"})
    settings: ClassVar[dict[str, Spec]] = {
        "smtp_host": Spec("str", "the mail server; empty: the email is only written", "",
                          pattern=r"[\w.:-]*", hint="use a host name such as smtp.example.com"),
        "smtp_port": Spec("int", "its port", 587, minimum=1, maximum=65535,
                          hint="use a TCP port number"),
        "smtp_starttls": Spec("bool", "STARTTLS before logging in", True),
        "email_from": Spec("str", "the sender of the release notes email", "",
                           pattern=f"({_MAIL})?", hint=_MAIL_HINT),
        "email_to": Spec("list", "its recipients", (), pattern=_MAIL, hint=_MAIL_HINT),
    }  # fmt: skip

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return ("SMTP_USERNAME", "SMTP_PASSWORD")

    def invalid(self, config: ReleaseConfig) -> str | None:
        port = config.smtp_port
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            return f"smtp_port = {port!r}: use a TCP port number"
        return None

    def missing(self, config: ReleaseConfig, credentials: Credentials) -> list[str]:
        problems = []
        if config.smtp_host and not (config.email_from and config.email_to):
            problems.append(
                "smtp_host is set but email_from or email_to is empty: set both in [tool.release]"
            )
        if bool(credentials.get("SMTP_USERNAME")) != bool(credentials.get("SMTP_PASSWORD")):
            problems.append("set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
        return problems

    def lacking(self, config: ReleaseConfig, credentials: Credentials) -> str | None:
        unset = [k for k in ("smtp_host", "email_from", "email_to") if not getattr(config, k)]
        if unset:
            return (
                f"email is a required channel but {', '.join(unset)} is empty: set it in "
                "[tool.release] (or --set), or pass --skip-channels"
            )
        if not (credentials.get("SMTP_USERNAME") and credentials.get("SMTP_PASSWORD")):
            return (
                "email is a required channel but SMTP_USERNAME and SMTP_PASSWORD are not both "
                f"set: export the login at {config.smtp_host}, or pass --skip-channels"
            )
        return None

    @staticmethod
    def server(ctx: ReleaseContext) -> SmtpServer:
        """The configured mail server, with the login from the environment."""
        c, creds = ctx.config, ctx.credentials
        return SmtpServer(c.smtp_host, c.smtp_port, c.smtp_starttls,
                          creds.get("SMTP_USERNAME"), creds.get("SMTP_PASSWORD"))  # fmt: skip

    def destinations(self, ctx: ReleaseContext) -> list[Destination]:
        c = ctx.config
        if not c.smtp_host:
            return []
        address = self.server(ctx).address
        shown = f"{counted(len(c.email_to), 'recipient')} via {address}"
        return [Destination(destination_key(f"{address} {sorted(c.email_to)}"), shown, address)]

    def absent(self, ctx: ReleaseContext) -> str:
        return "no email_to or smtp_host in [tool.release]"

    @staticmethod
    def file(ctx: ReleaseContext, prefix: str) -> Path:
        """``release-notes.eml``, or ``rollback-notes.eml``, in the release's state dir."""
        return ctx.state_dir / f"{prefix or 'release-'}notes.eml"

    def _shown(self, ctx: ReleaseContext, prefix: str) -> str:
        file = self.file(ctx, prefix)
        return str(file.relative_to(ctx.repo)) if file.is_relative_to(ctx.repo) else str(file)

    def prepare(self, ctx: ReleaseContext, news: News) -> list[Action]:
        if not (ctx.config.email_to or ctx.config.smtp_host):
            return []

        def write() -> None:
            said = news.message(ctx)
            message = compose(title=said.subject, notes=said.notes, sender=ctx.config.email_from,
                              recipients=ctx.config.email_to, link=said.links.release)  # fmt: skip
            write_message(message, self.file(ctx, news.prefix))

        return [Call(f"write the email to {self._shown(ctx, news.prefix)}", write)]

    def prepared(self, ctx: ReleaseContext, news: News) -> Observation | None:
        if not ctx.config.email_to:
            return None
        if self.file(ctx, news.prefix).exists():
            shown = self._shown(ctx, news.prefix)
            return Observation.done(f"written to {shown} (no smtp_host: not sent)")
        return Observation.pending(f"write {self._shown(ctx, news.prefix)}")

    def send(self, ctx: ReleaseContext, to: Destination, message: Message) -> str | None:
        from email import message_from_bytes, policy

        file = self.file(ctx, message.prefix)
        written = message_from_bytes(file.read_bytes(), policy=policy.default)
        refused = send(written, self.server(ctx))
        if refused:
            return (f"the mail server refused {', '.join(refused)} (the others were sent to): "
                    f"send {self._shown(ctx, message.prefix)} to them by hand")  # fmt: skip
        return None

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        if not ctx.config.smtp_host:
            return {}
        return {"mail": lambda: check(self.server(ctx))}

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ..standins.smtp import SmtpStandIn

        return stack.enter_context(SmtpStandIn())

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        if not rehearsing.config.smtp_host:  # the configured mail server, swapped
            return
        rehearsing.settings |= {"smtp_host": "127.0.0.1", "smtp_port": stand_in.port,
                                "smtp_starttls": False}  # fmt: skip
        rehearsing.environment |= {"SMTP_USERNAME": stand_in.username,
                                   "SMTP_PASSWORD": stand_in.password}  # fmt: skip


REMOTE = Mail
