"""GitHub's rate limits and server errors: when a request is sent again, and after how long.

Read with GitHub's "Rate limits for the REST API" and "Best practices" pages: a limited
request was not carried out, so it may be sent again once the limit lifts, whatever its verb;
a write answered 5xx may have been carried out, so it is never sent again (the engine
re-observes instead). :class:`~.http.GitHubHTTP` asks :class:`Retrying` after each answer.
The rules are PyGithub's ``GithubRetry`` (which this client replaced), bounded in time.
"""

from __future__ import annotations

__all__ = [
    "MAX_LIMIT_WAIT",
    "MAX_RETRIES",
    "SECONDARY_WAIT",
    "SERVER_ERRORS",
    "WRITE_BURST",
    "WRITE_INTERVAL",
    "LimitBudget",
    "Retrying",
    "limit_wait",
    "rate_limit_message",
]

import threading
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

#: The longest a command waits, in all, for GitHub's rate limits to lift; past it, it stops.
MAX_LIMIT_WAIT = 60.0
#: GitHub's "if you are making a large number of POST, PATCH, PUT, or DELETE requests, wait at
#: least one second between each request" (Best practices for using the REST API): past
#: :data:`WRITE_BURST` writes at once, one every WRITE_INTERVAL seconds. A release makes about
#: eight writes (the draft, its assets, the publication); at most 10 + 60 go in a minute, under
#: the 80 content-generating requests a minute GitHub's secondary limits allow.
WRITE_INTERVAL = 1.0
WRITE_BURST = 10
#: A secondary rate limit that says not how long: wait a minute (GitHub's best practices).
SECONDARY_WAIT = 60.0
#: The answers a read is sent again after (a write never: GitHub may have carried it out).
SERVER_ERRORS = frozenset({502, 503, 504})
#: How many times one request is sent again, limits and server errors together.
MAX_RETRIES = 4
_BACKOFF = 0.25  # seconds; doubled after each server error, the first retry at once


def rate_limit_message(message: str) -> bool:
    """Whether GitHub's *message* says a primary or secondary rate limit was hit."""
    said = message.lower()
    return (
        said.startswith("api rate limit exceeded")
        or said.startswith("you have exceeded a secondary rate limit")
        or said.endswith("please retry your request again later.")
        or said.endswith("please wait a few minutes before you try again.")
    )


def _retry_after(value: str) -> float | None:
    """``Retry-After``: seconds, or an HTTP date; None when it is neither."""
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def limit_wait(status: int, headers: Mapping[str, str], message: str) -> float | None:
    """Seconds GitHub asks to wait before *status* (403 or 429) may be sent again, or None
    when it is no limit (a refusal: a token without the permission). ``Retry-After``
    seconds, else until ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else a
    minute for a 429 or a secondary limit's message."""
    if status not in (403, 429):
        return None
    after = _retry_after(headers.get("Retry-After") or "")
    if after is not None:
        return after
    reset = headers.get("X-RateLimit-Reset") or ""
    if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - time.time()) + 1  # +1: the reset's second is not sure
    if status == 429 or rate_limit_message(message):
        return SECONDARY_WAIT
    return None


class LimitBudget:
    """The seconds a command (one client, all its threads) may wait for limits: *budget*."""

    def __init__(self, budget: float = MAX_LIMIT_WAIT) -> None:
        self.budget, self.waited, self._lock = budget, 0.0, threading.Lock()

    def take(self, wait: float) -> bool:
        """Whether *wait* more seconds fit in the budget (then they are counted)."""
        with self._lock:
            if self.waited + wait > self.budget:
                return False
            self.waited += wait
            return True


class Retrying:
    """What one request has been through: how many times it was sent again (at most
    :data:`MAX_RETRIES`), its waits for limits counted in the command's *budget*."""

    def __init__(self, budget: LimitBudget) -> None:
        self.budget, self.retries = budget, 0

    def after_limit(self, wait: float) -> bool:
        """Whether a limit lifting in *wait* seconds is waited for (then it is counted)."""
        if self.retries >= MAX_RETRIES or not self.budget.take(wait):
            return False
        self.retries += 1
        return True

    def after_server_error(self, method: str, status: int) -> float | None:
        """The pause before a *method* answered *status* is sent again, or None: never."""
        if method != "GET" or status not in SERVER_ERRORS or self.retries >= MAX_RETRIES:
            return None
        self.retries += 1
        return 0.0 if self.retries == 1 else _BACKOFF * 2 ** (self.retries - 1)
