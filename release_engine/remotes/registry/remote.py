"""The container registry as a remote: its settings, its login, the container engine that
builds and pushes, its reach probe, its stand-in.

Preflight asks the distribution spec's own handshake, ``GET /v2/`` and, behind a ``Bearer``
challenge, a token asked for ``repository:NAME:pull,push``; the token's ``access`` claim says
whether push was granted. Hand-written because skopeo and podman have no way to ask what a
login may do short of pushing; only this read-only request is ours, every push and copy stays
with them. The rehearsal's stand-in is a real registry (docker-registry) behind a token server
(:class:`release_engine.standins.registry.RegistryStandIn`), started when a container engine
is there.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...netcause import unreachable
from ...spec import Spec, path
from .. import Remote
from ..probe import TIMEOUT

if TYPE_CHECKING:
    from contextlib import ExitStack

    from ...config import ReleaseConfig
    from ...context import ReleaseContext
    from .. import Check, Rehearsing

__all__ = ["ContainerRegistry"]

USERNAME, PASSWORD = "REGISTRY_USERNAME", "REGISTRY_PASSWORD"
NO_ENGINE = "no container engine found (podman, buildah or docker)"


class ContainerRegistry(Remote):
    stand_in_needs = ("jwt", "cryptography")
    order = 30
    name = "registry"
    public = frozenset({USERNAME})
    settings: ClassVar[dict[str, Spec]] = {
        "image": Spec("str", "the image repository, without tag; empty: no image", "",
                      pattern=r"((?:[\w.:-]+/)*[a-z0-9._-]+)?",
                      hint="use a repository such as ghcr.io/your-org/name (no tag), or empty"),
        "container_engine": Spec("str", "the container engine", "auto",
                                 choices=("auto", "podman", "docker", "buildah")),
        "registry_tls_verify": Spec("bool", "verify the registry's TLS certificate", True),
        "base_image": Spec("str", "the Dockerfile's BASE_IMAGE; empty: its own default", ""),
        "rehearsal_base_image": Spec("str", "base_image for --rehearse", ""),
        "dockerfile": path("str", "the Dockerfile", "Dockerfile"),
    }  # fmt: skip

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return (USERNAME, PASSWORD)

    def logins(self, credentials: Any) -> list[tuple[str, str]]:
        user, password = credentials.get(USERNAME), credentials.get(PASSWORD)
        return [(user, password)] if user and password else []

    def open(self, ctx: ReleaseContext) -> None:
        if ctx.options.skip_image:
            ctx.container_reason = ctx.container_reason or "skipped by --skip-image"
        elif not ctx.config.image:
            ctx.container_reason = "no image configured in [tool.release]"
        else:
            from .container import ContainerEngine, detect_engine

            found = detect_engine(ctx.config.container_engine)
            if found is None:
                ctx.container_reason = NO_ENGINE
            else:
                ctx.container = ContainerEngine(found)

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        if ctx.container is None or not ctx.config.image:
            return {}
        return {"registry": lambda: _push_granted(ctx)}

    def stand_in(self, stack: ExitStack, workdir: Path) -> object | None:
        from .container import detect_engine

        if detect_engine() is None:
            return None
        from ...standins.registry import RegistryStandIn

        return stack.enter_context(RegistryStandIn(workdir / "registry"))

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        config = rehearsing.config
        if stand_in is None:  # nothing to push to: the image steps say why they skip
            rehearsing.options = replace(rehearsing.options, skip_image=True)
            rehearsing.reasons[self.name] = rehearsing.reasons.get(self.name, NO_ENGINE)
            rehearsing.settings["image"] = ""
            return
        name = config.image.rsplit("/", 1)[-1] if config.image else config.package
        rehearsing.settings |= {"image": f"{stand_in.url}/{rehearsing.namespace}{name}",
                                "registry_tls_verify": False}  # fmt: skip
        if config.rehearsal_base_image:
            rehearsing.settings["base_image"] = config.rehearsal_base_image
        rehearsing.environment |= {USERNAME: stand_in.username, PASSWORD: stand_in.password}

    def rehearsed(self, ctx: ReleaseContext, rehearsing: Rehearsing) -> None:
        if self.name in rehearsing.reasons:
            ctx.container_reason = rehearsing.reasons[self.name]


def _push_granted(ctx: ReleaseContext) -> str | None:
    from .. import web

    image, creds = ctx.config.image, ctx.credentials
    host, _, name = image.partition("/")
    if ctx.registry.host == "docker.io":  # Docker Hub's names and hosts are its own: the tools'
        return None
    base = f"{'https' if ctx.config.registry_tls_verify else 'http'}://{host}"
    user, password = creds.get(USERNAME), creds.get(PASSWORD)
    login = (user, password) if user and password else None
    try:
        first = web.fetch("GET", f"{base}/v2/", timeout=TIMEOUT)
        challenge = first.headers.get("WWW-Authenticate", "")
        if first.status_code != 401:
            return None
        if challenge.lower().startswith("basic"):
            answer = web.fetch("GET", f"{base}/v2/", auth=login, timeout=TIMEOUT)
            return None if answer.ok else _refused(host, answer.status_code)
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params.get("service", ""), "scope": f"repository:{name}:pull,push"}
        answer = web.fetch("GET", params["realm"], params=query, auth=login, timeout=TIMEOUT)
    except (web.Failure, KeyError) as exc:
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


REMOTE = ContainerRegistry
