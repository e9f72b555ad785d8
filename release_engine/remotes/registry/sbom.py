"""The image's SBOM in the registry, beside the image: an OCI artifact whose ``subject`` is it.

The SBOM is pushed with oras-py (the OCI Registry As Storage SDK) as an OCI 1.1 image manifest:
one layer of media type ``application/vnd.cyclonedx+json`` and ``subject`` naming the image's
manifest (its digest, media type and size). A registry with the referrers API
(``GET /v2/<name>/referrers/<digest>``, OCI distribution 1.1) then lists it among the image's
referrers; every registry also finds it under the tag ``sha256-<hex>.sbom`` (cosign's
convention, the fallback where there is no referrers API, as in Docker's distribution 2.8),
which is where it is pushed and looked for.
"""

from __future__ import annotations

__all__ = ["SBOM_MEDIA_TYPE", "attach_sbom", "attached_sbom", "has_referrers_api", "sbom_tag"]

import hashlib
import json
from pathlib import Path
from typing import Any

from ...errors import ReleaseError
from .client import Registry

SBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json"


def sbom_tag(digest: str) -> str:
    """The fallback tag of the SBOM of the image *digest*: ``sha256-<hex>.sbom``."""
    return digest.replace(":", "-") + ".sbom"


def attached_sbom(registry: Registry, digest: str) -> str | None:
    """The sha256 of the SBOM the registry holds for the image *digest*, or None."""
    tag = sbom_tag(digest)
    raw = registry._read("inspect", "--raw", registry._ref(tag), what=f"read {tag}")
    if raw is None:
        return None
    layers = json.loads(raw).get("layers") or []
    found = [layer for layer in layers if layer.get("mediaType") == SBOM_MEDIA_TYPE]
    return str(found[0]["digest"]).removeprefix("sha256:") if found else ""


def has_referrers_api(registry: Registry, digest: str) -> bool:
    """Whether the registry answers the OCI 1.1 referrers API for *digest* (anonymously:
    a registry that wants a login answers 401, read as no)."""
    name = registry.image.split("/", 1)[1]
    url = f"{_origin(registry)}/v2/{name}/referrers/{digest}"
    from .. import web  # urllib3: requests is oras' own, for the push alone

    try:
        return web.fetch("GET", url, timeout=30).status_code == 200
    except web.Failure:
        return False


def _scheme(registry: Registry) -> str:
    """oras' auth backend for the registry: "basic" when its challenge is Basic (htpasswd),
    else "token" (a Bearer challenge, as ghcr.io and Docker Hub send)."""
    from .. import web

    try:
        answer = web.fetch("GET", f"{_origin(registry)}/v2/", timeout=30)
    except web.Failure:
        return "token"
    challenge = answer.headers.get("WWW-Authenticate", "")
    return "basic" if challenge.lower().startswith("basic") else "token"


def _fresh_scopes(auth: Any) -> None:
    """Make oras' token backend ask for a new token at each challenge: it reuses the token it
    holds (a pull-scoped one, from the first read) when a push is answered 401, which a
    registry answers for a token without the push scope (oras-py 0.2)."""
    import oras.auth  # type: ignore[import-untyped]

    if isinstance(auth, oras.auth.TokenAuth):
        every = auth.authenticate_request

        def fresh(original: Any, headers: Any, refresh: bool = False) -> Any:
            return every(original, headers, refresh=True)

        auth.authenticate_request = fresh


def _origin(registry: Registry) -> str:
    return f"{'https' if registry.tls_verify else 'http'}://{registry.host}"


def preload() -> None:
    """Import what :func:`attach_sbom` imports: oras' client pulls in jsonschema, whose
    optional IRI checker (rfc3987-syntax) builds its grammar at import, about a second."""
    import oras.client  # type: ignore[import-untyped]
    import oras.oci  # type: ignore[import-untyped]  # noqa: F401


def attach_sbom(registry: Registry, sbom: Path, digest: str, *, username: str | None,
                password: str | None) -> None:  # fmt: skip
    """Push *sbom* to ``IMAGE:sha256-<hex>.sbom`` with the image *digest* as its subject."""
    import oras.client
    import oras.oci
    import requests

    ref = f"docker://{registry.image}@{digest}"
    raw = registry._read("inspect", "--raw", ref, what=f"read {registry.image}@{digest}")
    if raw is None:
        raise ReleaseError(f"the registry has no image {registry.image}@{digest}")
    kind = json.loads(raw).get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    if f"sha256:{hashlib.sha256(raw.encode()).hexdigest()}" != digest:
        raise ReleaseError(f"the registry served another manifest for {digest}")
    subject = oras.oci.Subject(mediaType=kind, digest=digest, size=len(raw.encode()))
    client = oras.client.OrasClient(
        hostname=registry.host, insecure=not registry.tls_verify, auth_backend=_scheme(registry)
    )
    if username and password:  # in memory: oras' login() would write a docker config file
        client.auth.set_basic_auth(username, password)
    _fresh_scopes(client.auth)
    try:
        client.push(
            target=f"{registry.image}:{sbom_tag(digest)}",
            files=[f"{sbom}:{SBOM_MEDIA_TYPE}"],
            disable_path_validation=True,
            subject=subject,
            quiet=True,
        )
    except (requests.RequestException, ValueError) as exc:
        raise ReleaseError(f"could not push the SBOM to {registry.image}: {exc}") from None
