"""GitHub's rate limits and server errors, as PyGithub's GithubRetry meets them, bounded.

Read with GitHub's "Rate limits for the REST API" and "Best practices" pages: a limited
request was not carried out, so it may be sent again once the limit lifts, whatever its verb;
a write answered 5xx may have been carried out, so it is never sent again (the engine
re-observes instead).
"""

from __future__ import annotations

__all__ = ["MAX_LIMIT_WAIT", "WRITE_INTERVAL", "RateLimited", "github_retry"]

import json
import time
from typing import Any

from github.GithubException import RateLimitExceededException
from github.GithubRetry import GithubRetry
from github.Requester import Requester
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

#: The longest a command waits, in all, for GitHub's rate limits to lift; past it, it stops.
MAX_LIMIT_WAIT = 60.0
#: GitHub's "wait at least one second between writes" (PyGithub's own default).
WRITE_INTERVAL = 1.0


class RateLimited(RateLimitExceededException):
    """A rate limit that lifts only after longer than the command may wait."""

    def __init__(self, status: int, data: Any, headers: dict[str, str], wait: float) -> None:
        super().__init__(status, data, headers)
        self.wait = wait


class _LimitRetry(GithubRetry):
    """PyGithub's GithubRetry, bounded, reading every limit the way GitHub documents it.

    A 403 or 429 that is a rate limit is waited for and sent again, whatever the verb (GitHub
    did nothing): ``Retry-After`` seconds, else until ``x-ratelimit-reset`` when
    ``x-ratelimit-remaining`` is 0, else GithubRetry's minute for a secondary limit; all
    together at most *budget* seconds, then :class:`RateLimited`. Any other 403 is raised as
    is. Connection failures are retried for any verb (nothing was sent); 5xx answers only for
    ``allowed_methods`` (GET), so a POST that GitHub may have carried out is never sent twice:
    the engine re-observes.
    """

    def __init__(self, *, budget: float = MAX_LIMIT_WAIT, waited: float = 0.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.budget, self.waited = budget, waited
        self.pause: float | None = None

    def new(self, **kw: Any) -> _LimitRetry:
        kw.setdefault("budget", self.budget)
        kw.setdefault("waited", self.waited)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429):
            return True  # increment() tells a limit from a refusal
        return super().is_retry(method, status_code, has_retry_after)

    def _limit_wait(self, status: int, headers: Any, message: str) -> float | None:
        """Seconds GitHub asks to wait before sending again, or None when it is no limit."""
        if headers.get("Retry-After"):
            try:
                return self.parse_retry_after(headers["Retry-After"])
            except InvalidHeader:
                pass
        reset = headers.get("X-RateLimit-Reset") or ""
        if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
            return max(0.0, int(reset) - time.time()) + 1  # +1: the reset's second is not sure
        if status == 429 or Requester.isRateLimitError(message):
            return float(self.secondary_rate_wait)
        return None

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if response is None or response.status not in (403, 429):
            return super().increment(method, url, response, error, _pool, _stacktrace)
        content = self.get_content(response, url or "")
        try:
            data = json.loads(content)
        except ValueError:
            data = {"message": content.decode(errors="replace")[:200]}
        data = data if isinstance(data, dict) else {}
        headers = dict(response.headers)
        wait = self._limit_wait(response.status, response.headers, str(data.get("message") or ""))
        if wait is None:  # a refusal, e.g. a token without the permission
            raise Requester.createException(response.status, headers, data)
        if self.waited + wait > self.budget:
            raise RateLimited(response.status, data, headers, wait)
        try:
            retry = Retry.increment(self, method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            raise RateLimited(response.status, data, headers, wait) from None
        assert isinstance(retry, _LimitRetry)
        retry.waited, retry.pause = self.waited + wait, wait
        return retry

    def sleep(self, response: Any = None) -> None:
        if self.pause is None:
            super().sleep(response)
        elif self.pause > 0:
            time.sleep(self.pause)


def github_retry(budget: float = MAX_LIMIT_WAIT) -> _LimitRetry:
    """The retry policy of every GitHub client: limits waited for within *budget* seconds."""
    return _LimitRetry(
        budget=budget,
        total=4,
        connect=2,
        read=0,
        status=4,
        backoff_factor=0.25,
        raise_on_status=False,
        status_forcelist=[502, 503, 504],  # GithubRetry adds 403; is_retry() adds 429
        allowed_methods=frozenset({"GET"}),
    )
