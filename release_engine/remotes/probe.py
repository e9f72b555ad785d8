"""What every remote's reach probe shares: a timeout, and whether anything answers at all."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from ..netcause import unreachable

__all__ = ["TIMEOUT", "answers", "origin"]

TIMEOUT = 10.0


def answers(what: str, url: str) -> str | None:
    """Whether anything answers at *url* (any HTTP status will do): asked where the
    credentialed check cannot be, so every unreachable remote is named in one run."""
    try:
        requests.head(url, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return unreachable(what, url, exc)
    return None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
