"""The SBOM pushed beside an image in a real registry (Docker's distribution, no referrers
API): an OCI artifact tagged ``sha256-<hex>.sbom`` whose subject is the image, with htpasswd
(Basic) and token (Bearer) logins alike; found again by the step that observes it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from release_engine.remotes.registry.client import Registry
from release_engine.remotes.registry.sbom import (
    SBOM_MEDIA_TYPE,
    _fresh_scopes,
    attach_sbom,
    attached_sbom,
    has_referrers_api,
    sbom_tag,
)
from release_engine.standins.registry import RegistryStandIn

pytestmark = pytest.mark.container


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_the_sbom_is_pushed_with_the_image_as_subject(auth: str, tmp_path: Path) -> None:
    import oras.client  # type: ignore[import-untyped]

    with RegistryStandIn(tmp_path / "registry", auth=auth) as standin:  # type: ignore[arg-type]
        image = f"{standin.url}/ns/app"
        registry = Registry(
            image, tls_verify=False, username=standin.username, password=standin.password
        )
        # Something to be the subject: any manifest in the repository does.
        subject = tmp_path / "payload.txt"
        subject.write_text("the image stands here\n")
        pusher = oras.client.OrasClient(
            hostname=registry.host, insecure=True,
            auth_backend="basic" if auth == "htpasswd" else "token",
        )  # fmt: skip
        pusher.auth.set_basic_auth(standin.username, standin.password)
        _fresh_scopes(pusher.auth)  # the same help as the engine's push needs
        pusher.push(target=f"{image}:v1", files=[str(subject)], disable_path_validation=True,
                    quiet=True)  # fmt: skip
        digest = registry.digest("v1")
        assert digest is not None and attached_sbom(registry, digest) is None
        sbom = tmp_path / "app-1.0.0.cdx.json"
        sbom.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}\n')
        attach_sbom(registry, sbom, digest, username=standin.username,
                    password=standin.password)  # fmt: skip
        assert attached_sbom(registry, digest) == hashlib.sha256(sbom.read_bytes()).hexdigest()
        raw = registry._read("inspect", "--raw", registry._ref(sbom_tag(digest)), what="sbom")
        manifest = json.loads(raw or "{}")
        assert manifest["subject"]["digest"] == digest
        assert manifest["layers"][0]["mediaType"] == SBOM_MEDIA_TYPE
        assert sbom_tag(digest) == f"sha256-{digest.removeprefix('sha256:')}.sbom"
        assert not has_referrers_api(registry, digest)  # distribution 2.8: the tag fallback
