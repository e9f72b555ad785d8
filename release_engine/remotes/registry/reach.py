"""The container registry's reach check: can this login push the image?

The distribution spec's own handshake, ``GET /v2/`` and, behind a ``Bearer`` challenge, a
token asked for ``repository:NAME:pull,push``; the token's ``access`` claim says whether push
was granted. Hand-written because skopeo and podman have no way to ask what a login may do
short of pushing; only this read-only request is ours, every push and copy stays with them.
"""

from __future__ import annotations

__all__ = ["check"]

import base64
import json
import re

import requests

from ...netcause import unreachable

_TIMEOUT = 10.0


def check(
    image: str,
    *,
    registry_host: str,
    tls_verify: bool,
    username: str | None,
    password: str | None,
) -> str | None:
    """What stops *username* from pushing *image* (``host/name``), or ``None``.

    *registry_host* is the host the registry client resolved (``docker.io`` for Docker Hub,
    whose names and hosts are its own: the copy tool's login is trusted there).
    """
    host, _, name = image.partition("/")
    if registry_host == "docker.io":  # Docker Hub's names and hosts are its own: skopeo's
        return None
    base = f"{'https' if tls_verify else 'http'}://{host}"
    login = (username, password) if username and password else None
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
