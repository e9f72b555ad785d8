"""What the GitHub stand-in can be told to answer instead, and what it records.

A :class:`Fault` stands for GitHub refusing or failing a request the way its docs describe:
a rate limit (403 or 429, with ``Retry-After`` or ``x-ratelimit-*`` headers), a token without
a permission, a 5xx, even one sent after the request was carried out. An :class:`Exchange`
is one request and its answer, as a contract test checks them against GitHub's description.
"""

from __future__ import annotations

__all__ = [
    "NOT_ACCESSIBLE",
    "PRIMARY_RATE_LIMIT",
    "SECONDARY_RATE_LIMIT",
    "Exchange",
    "Fault",
    "Faults",
    "Hold",
]

import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

_DOCS = "https://docs.github.com/rest"
_LIMITS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
# GitHub's documented answers to a client going too fast, and to a token lacking a permission.
SECONDARY_RATE_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
    "you try again.",
    "documentation_url": _LIMITS,
}
PRIMARY_RATE_LIMIT = {
    "message": "API rate limit exceeded for installation ID 1.",
    "documentation_url": _LIMITS,
}
NOT_ACCESSIBLE = {
    "message": "Resource not accessible by integration",
    "documentation_url": _DOCS,
    "status": "403",
}


@dataclass
class Fault:
    """An answer given instead of the usual one to the next *times* matching requests."""

    status: int
    body: Any
    headers: dict[str, str]
    method: str | None  # any, when None
    path: str | None  # a regular expression the whole path must match; any, when None
    times: int
    after: bool  # carry the request out first, then answer this


@dataclass(frozen=True)
class Exchange:
    """One request and its answer."""

    method: str
    path: str  # below the base path, without the query
    query: dict[str, list[str]]
    request: Any  # the JSON body sent, or None
    status: int
    response: Any
    headers: dict[str, str]  # the answer's own headers, beyond the ones every answer has


class Faults:
    """The faults still to be given, oldest first (the caller holds the stand-in's lock)."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []

    def add(
        self,
        status: int,
        *,
        times: int,
        method: str | None,
        path: str | None,
        headers: dict[str, str] | None,
        body: Any,
        after: bool,
    ) -> None:
        if body is None:  # GitHub's own body for that status
            body = dict(SECONDARY_RATE_LIMIT) if status in (403, 429) else {
                "message": HTTPStatus(status).phrase, "documentation_url": _DOCS}  # fmt: skip
        upper = method.upper() if method else None
        self._pending.append(Fault(status, body, dict(headers or {}), upper, path, times, after))

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault for *method* *path*, counted as given; None when there is none."""
        for fault in self._pending:
            if fault.method not in (None, method) or not re.fullmatch(fault.path or ".*", path):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._pending.remove(fault)
            return fault
        return None


@dataclass
class Hold:
    """A request kept waiting: :attr:`arrived` is set once the stand-in has it (and, with
    *after*, has carried it out), then its answer waits until :attr:`release` is set (at most
    *timeout* seconds), so a client can be killed at that exact point."""

    after: bool = True
    timeout: float = 120.0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def wait(self) -> None:
        """Signal the arrival, then wait to be released."""
        self.arrived.set()
        self.release.wait(self.timeout)
