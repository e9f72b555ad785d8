"""Preflight's reach: every remote the plan will write, reached with its credentials first.

A wrong index password, a GitHub token that gets 401 or may not push, a registry login
without push scope, an unreachable webhook or mail server: each would otherwise be found
after the tag and main were pushed. Each check reads or logs in and writes nothing, so it is
as safe in a dry run; they run side by side, and each problem is one line naming the remote
and the credential.

- GitHub: ``GET /repos/{owner}/{repo}``, whose ``permissions.push`` says whether the token
  may push (an app installation token is told nothing there: then reading it is the check).
- Package index: the upload endpoint asked to upload nothing (:mod:`.remotes.index.reach`).
- Registry: the distribution spec's own handshake, asked whether the login may push
  (:mod:`.remotes.registry.reach`).
- Webhooks: Slack's incoming webhooks checked as Slack documents their errors: a payload that
  is not JSON is refused (``400 invalid_payload``) by a right URL, posting nothing, while a
  wrong or revoked one answers ``404 no_service`` / ``403 invalid_token``.
- Mail: connect, STARTTLS and log in as the send will, then quit (:func:`.tools.mail.check`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from .errors import ReleaseError
from .netcause import unreachable
from .remotes.index.reach import check as _index
from .remotes.registry import reach as registry_reach

if TYPE_CHECKING:
    from .context import ReleaseContext
    from .remotes.index import Login

__all__ = ["reach", "reach_problems"]

_TIMEOUT = 10.0
Check = Callable[[], "str | None"]


def reach_problems(ctx: ReleaseContext) -> list[str]:
    """What stops the plan from writing to one of its remotes, one line each."""
    return list(reach(ctx).values())


def reach(ctx: ReleaseContext) -> dict[str, str]:
    """The same, by remote (``github``, ``index``, ``registry``, ``webhook N``, ``mail``):
    preflight asks no more of a remote it could not reach."""
    checks: dict[str, Check] = {}
    if ctx.github is not None:
        checks["github"] = lambda: _github(ctx)
    elif ctx.config.github_repository:  # no token (said apart): is GitHub there at all?
        checks["github"] = lambda: _answers("GitHub", ctx.config.github_api_url)
    if ctx.config.index_url and ctx.config.index_url.startswith("http"):
        url = ctx.config.index_url
        login = _login(ctx)
        if login is not None and login.password is not None and not login.unavailable:
            checks["index"] = lambda: _index(url, login.username, login.password or "")
        else:  # no login to try (said apart): is the index there at all?
            checks["index"] = lambda: _answers("the package index", url)
    if ctx.container is not None and ctx.config.image:
        checks["registry"] = lambda: _registry(ctx)
    for n, hook in enumerate(ctx.credentials.webhooks, 1):
        checks[f"webhook {n}"] = lambda hook=hook: _webhook(hook)  # type: ignore[misc]
    if ctx.config.smtp_host:
        checks["mail"] = lambda: _mail(ctx)
    if not checks:
        return {}
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        found = dict(zip(checks, pool.map(_safely, checks.values()), strict=True))
    return {name: problem for name, problem in found.items() if problem}


def _login(ctx: ReleaseContext) -> Login | None:
    try:
        return ctx.index_login
    except ReleaseError:  # no way to log in: the credentials' check says so
        return None


def _answers(what: str, url: str) -> str | None:
    """Whether anything answers at *url* (any HTTP status will do): asked where the
    credentialed check cannot be, so every unreachable remote is named in one run."""
    try:
        requests.head(url, timeout=_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return unreachable(what, url, exc)
    return None


def _safely(check: Check) -> str | None:
    try:
        return check()
    except ReleaseError as exc:
        return str(exc).splitlines()[0]


def _github(ctx: ReleaseContext) -> str | None:
    assert ctx.github is not None
    if ctx.github.can_push() is False:
        return (
            f"GITHUB_TOKEN may not push to {ctx.config.github_repository} (GitHub's "
            "permissions.push is false): use a token with contents: write"
        )
    return None


def _registry(ctx: ReleaseContext) -> str | None:
    creds = ctx.credentials
    return registry_reach.check(
        ctx.config.image,
        registry_host=ctx.registry.host,
        tls_verify=ctx.config.registry_tls_verify,
        username=creds.registry_username,
        password=creds.registry_password,
    )


def _webhook(url: str) -> str | None:
    """Post a payload that is not JSON: Slack answers ``400 invalid_payload`` without posting
    anything when the URL is right, ``403``/``404`` (``invalid_token``, ``no_service``) when it
    is revoked or wrong. The URL's path is its secret: only scheme, host and port are named."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"
    try:
        answer = requests.post(
            url, data=b"-", headers={"Content-Type": "application/json"}, timeout=_TIMEOUT
        )
    except requests.RequestException as exc:
        return unreachable("a webhook", url, exc) + ": check RELEASE_NOTIFY_WEBHOOKS"
    if answer.status_code in (403, 404, 410):
        said = " ".join(answer.text.split())[:40]
        return (
            f"a webhook ({shown}) answered {answer.status_code} {said}: the URL is wrong or "
            "revoked; check RELEASE_NOTIFY_WEBHOOKS"
        )
    if answer.status_code >= 500:
        return f"a webhook ({shown}) answered {answer.status_code}: try later"
    return None


def _mail(ctx: ReleaseContext) -> str | None:
    from .steps.post import Email
    from .tools import mail

    mail.check(Email.server(ctx))
    return None
