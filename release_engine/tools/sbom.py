"""The CycloneDX SBOM of the release's container image: exactly what the image holds.

The list of components is read from the image itself, not from a requirements file: its own
Python lists every distribution it can import (``importlib.metadata.distributions()``: what
pip installed in the image, the base image's pip, and the package under ``PYTHONPATH``). The
document is made with cyclonedx-python-lib (CycloneDX's own library) and is a pure function of
the image's contents, its digest and the tag's commit time: its ``serialNumber`` is derived
from the image digest and its timestamp is the commit's, so building it again on another
machine gives the same bytes (an asset already uploaded is then recognised by its sha256).
``cyclonedx-py environment`` would need the tool installed in the image; reading the image's
distributions and writing the document with the library keeps the image as it is.
"""

from __future__ import annotations

__all__ = ["SBOM_SUFFIX", "image_distributions", "make_sbom", "sbom_components", "validate"]

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..proc import read

if TYPE_CHECKING:
    from ..remotes.registry.container import ContainerEngine

SBOM_SUFFIX = ".cdx.json"
#: Run by the image's own Python: every distribution it sees, as JSON [[name, version], ...].
_LIST = (
    "import json, importlib.metadata as m; "
    "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions()})))"
)


def image_distributions(
    engine: ContainerEngine,
    ref: str,
    *,
    tls_verify: bool = True,
    authfile: Path | None = None,
    pass_fds: tuple[int, ...] = (),
) -> list[tuple[str, str]]:
    """(name, version) of every Python distribution installed in the image *ref*: a look at
    the image (a read: a container that is removed at once and changes nothing outside)."""
    python = ["python3", "-c", _LIST]
    if engine.name == "buildah":
        working = read(["buildah", "from", "--pull=never", ref], check=True).stdout.strip()
        try:
            out = read(["buildah", "run", working, "--", *python], check=True, timeout=300).stdout
        finally:
            read(["buildah", "rm", working], timeout=60)
    else:
        argv = [engine.name, "run", "--rm", "--network=none", "--entrypoint", python[0]]
        if engine.name == "podman":  # another machine pulls it from the registry first
            argv += [f"--tls-verify={str(tls_verify).lower()}"]
            argv += ["--authfile", str(authfile)] if authfile is not None else []
        command = [*argv, ref, *python[1:]]
        out = read(command, check=True, timeout=300, pass_fds=pass_fds).stdout
    try:
        found = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        message = f"could not list the Python distributions in {ref}: {out[:200]!r}"
        raise ReleaseError(message) from None
    return [(str(name), str(version)) for name, version in found]


def preload() -> None:
    """Import what :func:`make_sbom` and :func:`validate` import (cyclonedx, its validator)."""
    import cyclonedx.output.json
    import cyclonedx.validation.json  # noqa: F401


def make_sbom(
    image: str,
    version: str,
    digest: str,
    epoch: int,
    distributions: Sequence[tuple[str, str]],
) -> str:
    """The CycloneDX 1.6 JSON document of the image *image* (version *version*, manifest
    *digest*) holding *distributions*; made at the tag's commit time *epoch*."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL
    from packaging.utils import canonicalize_name

    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"{image}@{digest}")
    bom = Bom(serial_number=serial)
    bom.metadata.timestamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=digest.removeprefix("sha256:"))]
    root = Component(
        type=ComponentType.CONTAINER, name=image, version=version, bom_ref=f"{image}@{digest}",
        hashes=hashes,
    )  # fmt: skip
    bom.metadata.component = root
    parts = []
    for name, dist_version in sorted(distributions, key=lambda d: canonicalize_name(d[0])):
        purl = PackageURL("pypi", name=canonicalize_name(name), version=dist_version)
        ref, kind = purl.to_string(), ComponentType.LIBRARY
        parts.append(Component(type=kind, name=name, version=dist_version, purl=purl, bom_ref=ref))
    bom.components.update(parts)
    bom.register_dependency(root, parts)
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def sbom_components(text: str) -> dict[str, str]:
    """The components of an SBOM *text*: canonical name → version."""
    from packaging.utils import canonicalize_name

    data = json.loads(text)
    return {canonicalize_name(c["name"]): c.get("version", "") for c in data.get("components", [])}


def validate(text: str) -> str | None:
    """Why *text* is not a valid CycloneDX 1.6 JSON document, or None when it is."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)[:300]
