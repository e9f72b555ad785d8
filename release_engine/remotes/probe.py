"""What every remote's reach probe shares: a timeout, the HTTP library, and whether anything
answers at all.

Remote modules are imported whenever the settings are read (they declare them), so none
imports an HTTP library at its top: :func:`http` gives it to the probe that asks.
"""

from __future__ import annotations

from types import ModuleType
from urllib.parse import urlsplit

from ..netcause import unreachable

__all__ = ["TIMEOUT", "answers", "http", "origin"]

TIMEOUT = 10.0


def http() -> ModuleType:
    """``requests``, loaded by the first probe that runs."""
    import requests

    return requests


def answers(what: str, url: str) -> str | None:
    """Whether anything answers at *url* (any HTTP status will do): asked where the
    credentialed check cannot be, so every unreachable remote is named in one run."""
    requests = http()
    try:
        requests.head(url, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return unreachable(what, url, exc)
    return None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
