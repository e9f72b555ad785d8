"""Secrets are replaced by ``***`` here, at the single place text leaves the engine.

Every value registered with :func:`register_secret` is hidden from everything that goes
through :func:`redact`: the console, the JSON report, logged commands and error messages.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["MASK", "clear_secrets", "redact", "register_secret"]

MASK = "***"
_secrets: set[str] = set()
# user:password@ in a URL, whatever the password is.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]+):[^/@\s]+@"
)


def register_secret(value: str | None) -> None:
    """Hide *value* (and, for a URL, its password and query) from all output."""
    if not value or len(value) < 4:
        return
    _secrets.add(value)
    if "://" in value:
        parts = urlsplit(value)
        if parts.password and len(parts.password) >= 4:
            _secrets.add(parts.password)
        if parts.path and len(parts.path) >= 8:
            _secrets.add(parts.path)  # webhook URLs carry their secret in the path


def clear_secrets() -> None:
    """Forget every registered secret (tests use this between runs)."""
    _secrets.clear()


def redact(text: str) -> str:
    """Return *text* with every registered secret and URL password replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
