"""A mail server for rehearsals: a real SMTP server (aiosmtpd) that records what it is sent.

It listens on 127.0.0.1, asks for a login (AUTH PLAIN/LOGIN with a random password) and, with
``starttls=True``, offers STARTTLS with a self-signed certificate made by ``openssl`` for
127.0.0.1 (then :attr:`SmtpStandIn.cafile` is what a client must trust). Messages are kept
parsed, with the envelope and whether the session was encrypted and logged in.
"""

from __future__ import annotations

__all__ = ["Delivered", "SmtpStandIn"]

import contextlib
import email
import email.policy
import logging
import secrets
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ..errors import StandInError
from ..proc import run
from ._server import StandIn, free_port


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    encrypted: bool
    login: str | None


class _Handler:
    def __init__(self, owner: SmtpStandIn) -> None:
        self.owner = owner

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not session.authenticated:  # checked here: aiosmtpd warns of AUTH without TLS
            return "530 5.7.0 Authentication required"
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        delivered = Delivered(
            str(envelope.mail_from),
            tuple(envelope.rcpt_tos),
            parsed,
            session.ssl is not None,
            login,
        )
        with self.owner._lock:
            self.owner._delivered.append(delivered)
        return "250 Message accepted for delivery"


class SmtpStandIn(StandIn):
    """An SMTP server on 127.0.0.1:``port`` taking mail from ``username``/``password`` only."""

    def __init__(self, *, starttls: bool = False, username: str = "release") -> None:
        # aiosmtpd warns of its own legacy Session.login_data, which it sets itself at every
        # login: a rehearsal's output is no place for that.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self.username, self.password = username, secrets.token_urlsafe(18)
        self.starttls = starttls
        self._lock = threading.Lock()
        self._delivered: list[Delivered] = []
        self._dir = Path(tempfile.mkdtemp(prefix="smtp-standin-"))
        self.cafile: Path | None = None
        tls: ssl.SSLContext | None = None
        if starttls:
            self.cafile, tls = self._certificate()
        self.port = free_port()
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_required=starttls,
            auth_require_tls=starttls,
            tls_context=tls,
            require_starttls=starttls,
        )
        try:
            self._controller.start()
        except (OSError, RuntimeError) as exc:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise StandInError(f"the SMTP stand-in could not start on 127.0.0.1: {exc}") from exc

    def _certificate(self) -> tuple[Path, ssl.SSLContext]:
        cert, key = self._dir / "cert.pem", self._dir / "key.pem"
        run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"]
        )  # fmt: skip
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return cert, context

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context trusting this server's certificate (STARTTLS only)."""
        if self.cafile is None:
            raise StandInError("this SMTP stand-in offers no STARTTLS")
        return ssl.create_default_context(cafile=str(self.cafile))

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = (
            isinstance(data, LoginPassword)
            and data.login == self.username.encode()
            and secrets.compare_digest(data.password, self.password.encode())
        )
        return AuthResult(success=good, handled=False, auth_data=data)

    @property
    def delivered(self) -> list[Delivered]:
        """Every message accepted so far, oldest first (a copy)."""
        with self._lock:
            return list(self._delivered)

    def stop(self) -> None:
        """Stop serving and remove the certificate (idempotent)."""
        with contextlib.suppress(AssertionError):  # already stopped
            self._controller.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
