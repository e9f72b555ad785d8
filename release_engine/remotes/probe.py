"""What every remote's reach probe shares: a timeout, and whether anything answers at all.

Remote modules are imported whenever the settings are read (they declare them), so none
imports an HTTP library at its top: the probes send through :func:`.web.fetch` (urllib3,
imported by the first probe that runs; :mod:`.web` says why not requests).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..netcause import unreachable

__all__ = ["TIMEOUT", "answers", "origin"]

TIMEOUT = 10.0


def answers(what: str, url: str) -> str | None:
    """Whether anything answers at *url* (any HTTP status will do): asked where the
    credentialed check cannot be, so every unreachable remote is named in one run."""
    from . import web

    try:
        web.fetch("HEAD", url, timeout=TIMEOUT, follow=False)
    except web.Failure as exc:
        return unreachable(what, url, exc)
    return None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
