"""What the release's SBOM asset must be: valid CycloneDX listing every distribution the
image holds (read independently, with the image's own pip), and in ``SHA256SUMS``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request

from packaging.utils import canonicalize_name

from release_engine.tools.assets import SUMS, parse_sums
from release_engine.tools.container import wheel_requirements
from release_engine.tools.sbom import sbom_components, validate
from tests.engine.conftest import VERSION, Rehearsal, github_get, registry_of

__all__ = ["assert_image_sbom"]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


def assert_image_sbom(r: Rehearsal) -> None:
    """The published release's SBOM and SHA256SUMS against the image in the registry."""
    (release,) = github_get(r.s, "/releases")
    assets = {a["name"]: a for a in release["assets"]}
    name = f"market_data_ingestion-{VERSION}.cdx.json"
    sbom = _get(assets[name]["browser_download_url"])
    assert validate(sbom.decode()) is None
    listed = sbom_components(sbom.decode())
    with registry_of(r) as registry:
        digest = registry.digest(f"v{VERSION}")
        image = registry.image
    assert digest is not None
    pip = subprocess.run(
        ["podman", "run", "--rm", "--entrypoint", "python3", f"{image}:v{VERSION}",
         "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(pip)}
    assert installed == listed  # every distribution in the image, each at its version
    wheel = r.work / ".git" / "release" / f"v{VERSION}" / "dist"
    (built,) = wheel.glob("*.whl")
    for requirement in wheel_requirements(built):
        assert canonicalize_name(requirement.split(">")[0].split("=")[0].strip()) in listed
    sums = parse_sums(_get(assets[SUMS]["browser_download_url"]).decode())
    assert sums[name] == hashlib.sha256(sbom).hexdigest()
    assert sums[f"{image}:v{VERSION}"] == digest.removeprefix("sha256:")
    assert set(sums) == {*(set(assets) - {SUMS}), f"{image}:v{VERSION}"}
