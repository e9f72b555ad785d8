"""The release notes by email: a text + HTML message, written to a file and sent over SMTP.

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

from ..errors import ReleaseError

__all__ = ["SmtpServer", "check", "compose", "render_html", "send", "write_message"]


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
