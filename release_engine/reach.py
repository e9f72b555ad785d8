"""Preflight's reach: every remote the plan will write, reached with its credentials first.

A wrong index password, a GitHub token that gets 401 or may not push, a registry login
without push scope, an unreachable webhook or mail server: each would otherwise be found
after the tag and main were pushed. Each check reads or logs in and writes nothing, so it is
as safe in a dry run; they run side by side, and each problem is one line naming the remote
and the credential.

- GitHub: ``GET /repos/{owner}/{repo}``, whose ``permissions.push`` says whether the token
  may push (an app installation token is told nothing there: then reading it is the check).
- Package index: the upload endpoint asked to upload nothing. PyPI (warehouse) and
  pypiserver check the login before the form, so a wrong login is ``401``/``403`` and a
  right one ``400`` for the missing file; nothing is stored. Trusted publishing mints its
  token at upload time: preflight already decided it can.
- Registry: the distribution spec's own handshake, ``GET /v2/`` and, behind a ``Bearer``
  challenge, a token asked for ``repository:NAME:pull,push``; the token's ``access`` claim
  says whether push was granted. Hand-written because skopeo and podman have no way to ask
  what a login may do short of pushing; only this read-only request is ours, every push and
  copy stays with them.
- Webhooks: Slack's incoming webhooks checked as Slack documents their errors: a payload that
  is not JSON is refused (``400 invalid_payload``) by a right URL, posting nothing, while a
  wrong or revoked one answers ``404 no_service`` / ``403 invalid_token``.
- Mail: connect, STARTTLS and log in as the send will, then quit (:func:`.tools.mail.check`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from .errors import ReleaseError
from .netcause import unreachable

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


def _index(url: str, username: str, password: str) -> str | None:
    """Ask *url* to upload nothing: the login is checked before the (missing) file."""
    form = {":action": "file_upload", "protocol_version": "1"}
    try:
        answer = requests.post(url, data=form, auth=(username, password), timeout=_TIMEOUT)
    except requests.RequestException as exc:
        return unreachable("the package index", url, exc) + ": check index_url"
    if answer.status_code in (401, 403):
        return (
            f"the package index at {_origin(url)} refused the login ({answer.status_code}): "
            "check TWINE_USERNAME and TWINE_PASSWORD"
        )
    if answer.status_code >= 500:
        return f"the package index at {_origin(url)} answered {answer.status_code}: try later"
    return None


def _registry(ctx: ReleaseContext) -> str | None:
    image, creds = ctx.config.image, ctx.credentials
    host, _, name = image.partition("/")
    if ctx.registry.host == "docker.io":  # Docker Hub's names and hosts are its own: skopeo's
        return None
    base = f"{'https' if ctx.config.registry_tls_verify else 'http'}://{host}"
    user, password = creds.registry_username, creds.registry_password
    login = (user, password) if user and password else None
    try:
        first = requests.get(f"{base}/v2/", timeout=_TIMEOUT)
        challenge = first.headers.get("WWW-Authenticate", "")
        if first.status_code != 401:
            return None
        if challenge.lower().startswith("basic"):
            answer = requests.get(f"{base}/v2/", auth=login, timeout=_TIMEOUT)
            return None if answer.ok else _refused(host, answer.status_code)
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params.get("service", ""), "scope": f"repository:{name}:pull,push"}
        answer = requests.get(params["realm"], params=query, auth=login, timeout=_TIMEOUT)
    except (requests.RequestException, KeyError) as exc:
        if isinstance(exc, KeyError):
            return f"the container registry {host} sent a token challenge without a realm"
        return unreachable("the container registry", base, exc) + ": check image"
    if not answer.ok:
        return _refused(host, answer.status_code)
    body = answer.json()
    granted = _granted(str(body.get("token") or body.get("access_token") or ""), name)
    if granted is not None and "push" not in granted:
        return (
            f"the container registry {host} grants REGISTRY_USERNAME no push to {name} "
            f"(only {', '.join(sorted(granted)) or 'nothing'}): use a login that may push"
        )
    return None


def _granted(token: str, name: str) -> set[str] | None:
    """The actions a JWT's ``access`` claim grants on *name*; None for a token that is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    access = claims.get("access") if isinstance(claims, dict) else None
    if not isinstance(access, list):
        return None
    return {
        str(action)
        for entry in access
        if isinstance(entry, dict) and entry.get("name") == name
        for action in entry.get("actions") or []
    }


def _refused(host: str, status: int) -> str:
    return (
        f"the container registry {host} refused the login ({status}): check "
        "REGISTRY_USERNAME and REGISTRY_PASSWORD"
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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
