"""What the release's SBOM asset must be: valid CycloneDX listing every distribution the
image holds (read independently, with the image's own pip), and in ``SHA256SUMS``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request

from packaging.utils import canonicalize_name

from release_engine.remotes.github.assets import SUMS, parse_sums
from release_engine.remotes.registry.container import wheel_requirements
from release_engine.remotes.registry.sbom import SBOM_MEDIA_TYPE, sbom_tag
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
    # The same SBOM in the registry: an OCI artifact whose subject is the image.
    with registry_of(r) as registry:
        raw = registry._read("inspect", "--raw", registry._ref(sbom_tag(digest)), what="sbom")
    assert raw is not None
    artifact = json.loads(raw)
    assert artifact["subject"]["digest"] == digest
    assert [(x["mediaType"], x["digest"]) for x in artifact["layers"]] == [
        (SBOM_MEDIA_TYPE, f"sha256:{hashlib.sha256(sbom).hexdigest()}")
    ]
    sums = parse_sums(_get(assets[SUMS]["browser_download_url"]).decode())
    assert sums[name] == hashlib.sha256(sbom).hexdigest()
    assert sums[f"{image}:v{VERSION}"] == digest.removeprefix("sha256:")
    assert set(sums) == {*(set(assets) - {SUMS}), f"{image}:v{VERSION}"}


def assert_verify_passes_then_names_a_changed_byte(r: Rehearsal) -> None:
    """``inv release.verify`` on the rehearsal: every check passes and the published wheel
    and image run and answer the version; then one byte of a file the index serves changes,
    and the checks fail naming that file."""
    from release_engine.rehearsal import rehearsal_context
    from release_engine.verify import verify_release
    from release_engine.version import parse_version

    ctx = rehearsal_context(r.work, parse_version(VERSION), r.s)
    found = verify_release(ctx)
    assert found.problems == []
    assert any(c.startswith("ran ") and c.endswith(".whl: --version, sample ingest")
               for c in found.checked)  # fmt: skip
    assert any(c.startswith("ran ") and "/health" in c for c in found.checked) == (
        r.s.registry is not None
    )
    sdist = r.s.index.packages / f"market_data_ingestion-{VERSION}.tar.gz"
    data = bytearray(sdist.read_bytes())
    data[len(data) // 2] ^= 0x01
    sdist.write_bytes(bytes(data))
    broken = verify_release(rehearsal_context(r.work, parse_version(VERSION), r.s))
    assert broken.problems and all("\n" not in p for p in broken.problems)
    assert all(p.startswith(f"{sdist.name}: ") for p in broken.problems), broken.problems
    assert not any(c.startswith("ran ") for c in broken.checked)
