"""Why a request reached nobody, in words: DNS, refused, timeout, TLS, or the socket's reason.

requests wraps the socket's error in urllib3's, several levels deep (urllib3 alone, as the
engine's clients use it, in its ``MaxRetryError`` or as it is); its class name
(``ConnectionError``, ``NewConnectionError``) says nothing a user can act on. :func:`cause`
walks the chain down to the first error that names the cause, and :func:`unreachable` makes
the one line that names the host too. Hand-written: requests and urllib3 expose the chain,
not a classification.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

__all__ = ["cause", "timed_out", "unreachable"]


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    error: object = exc
    while isinstance(error, BaseException) and error not in found and len(found) < 12:
        found.append(error)
        nxt = getattr(error, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = error.__cause__ or error.__context__
        error = nxt
    return found


def _named(error: BaseException, word: str) -> bool:
    """Whether a class of *error* has *word* in its name: how requests' and urllib3's own
    exceptions (``SSLError``, ``ReadTimeout``, ``ConnectTimeoutError``) are told apart
    without importing them."""
    return any(word in kind.__name__ for kind in type(error).__mro__)


def _tls_reason(chain: list[BaseException]) -> str | None:
    """OpenSSL's reason (and its verify message) from the first TLS error of *chain* that
    has one: urllib3's own ``SSLError`` wraps the ``ssl`` module's, which says it."""
    for error in chain:
        reason, verify = getattr(error, "reason", None), getattr(error, "verify_message", None)
        if isinstance(reason, str) and reason:
            return f"{reason} ({verify})" if isinstance(verify, str) and verify else reason
    return None


def timed_out(exc: BaseException) -> bool:
    """Whether *exc* is no answer in time (connecting or reading). urllib3's
    ``NewConnectionError`` (refused, unresolved) is a ``ConnectTimeoutError`` by class, not by
    cause: it is not one here."""
    for error in _chain(exc):
        named = _named(error, "Timeout") and not _named(error, "NewConnection")
        if isinstance(error, (TimeoutError, socket.timeout)) or named:
            return True
    return False


def cause(exc: BaseException) -> str:
    """What went wrong under *exc*, in a few words a user can act on."""
    chain = _chain(exc)
    for error in chain:
        if isinstance(error, socket.gaierror) or "NameResolution" in type(error).__name__:
            return "DNS: the host name does not resolve"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused: nothing listens on that port"
        if isinstance(error, ssl.SSLError) or _named(error, "SSLError"):
            return f"TLS: {_tls_reason(chain[chain.index(error) :]) or 'the handshake failed'}"
    if timed_out(exc):
        return "timeout: no answer in time"
    if any(isinstance(error, ConnectionResetError) for error in chain):
        return "the connection was reset"
    for error in chain:
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
    return str(exc).split(":")[0] or type(exc).__name__


def unreachable(what: str, url: str, exc: BaseException) -> str:
    """``WHAT at scheme://host:port is unreachable (CAUSE)``; the URL's path and login left
    out (a webhook's path is its secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{what} at {parts.scheme}://{host} is unreachable ({cause(exc)})"
