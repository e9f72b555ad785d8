"""Secrets, held by one object a run carries and applied where output is produced.

A :class:`Secrets` is made from the run's credentials (``Credentials.secrets()``) and carried by
the release context; the console reporter, the JSON report, the error line at the edge and the
log filter all pass text through :meth:`Secrets.redact`. Nothing is registered globally: two
runs in one process (the tests) never see each other's secrets.
(python-semantic-release's ``cli/masking_filter.py`` is the model for the log filter.)
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

__all__ = ["LOGGERS", "MASK", "Secrets", "redact_urls"]

MASK = "***"
#: The loggers whose records may carry a secret: ours, and the HTTP stacks under our clients.
LOGGERS = (
    "release_engine",
    "release_engine.proc",
    "release_engine.remotes.github.http",  # the GitHub client's requests (remotes/github)
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.util.retry",
    "requests",
)
# user:password@ in a URL, whatever the password is.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]+):[^/@\s]+@"
)
_SHORTEST = 4  # shorter values would mask ordinary words


def redact_urls(text: str) -> str:
    """*text* with the password of every ``scheme://user:password@`` URL masked."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


class Secrets:
    """The secret values of one run; :meth:`redact` hides each of them from a text."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Hide *value*; for a URL also its password and a secret-bearing path (webhooks)."""
        if not value or len(value) < _SHORTEST:
            return
        self._values.add(value)
        if "://" in value:
            parts = urlsplit(value)
            if parts.password and len(parts.password) >= _SHORTEST:
                self._values.add(parts.password)
            if parts.path and len(parts.path) >= 8:
                self._values.add(parts.path)  # webhook URLs carry their secret in the path
                self._values.add(parts.path.rsplit("/", 1)[-1])

    def add_basic(self, username: str | None, password: str | None) -> None:
        """Hide *password* and the ``Authorization: Basic`` value made from the pair."""
        self.add(password)
        if username is not None and password:
            self.add(base64.b64encode(f"{username}:{password}".encode()).decode())

    def update(self, other: Secrets) -> None:
        """Hide every secret of *other* too."""
        self._values |= other._values

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)

    def redact(self, text: str) -> str:
        """*text* with every secret, and every URL password, replaced by ``***``."""
        for secret in sorted(self._values, key=len, reverse=True):
            if len(secret) >= _SHORTEST and secret in text:
                text = text.replace(secret, MASK)
        return redact_urls(text)

    @contextmanager
    def masking_logs(self, names: Iterable[str] = LOGGERS) -> Iterator[None]:
        """Redact every record of the loggers *names* while the block runs.

        A filter is attached to each logger (and to every ``release_engine.*`` logger that
        exists), not to a handler: records are cleaned where they are made, so every handler
        (a file, pytest's capture, the console) sees them clean.
        """
        log_filter = _MaskingFilter(self)
        ours = [n for n in logging.root.manager.loggerDict if n.startswith("release_engine.")]
        loggers = [logging.getLogger(name) for name in {*names, *ours}]
        for logger in loggers:
            logger.addFilter(log_filter)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(log_filter)


class _MaskingFilter(logging.Filter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.secrets.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
