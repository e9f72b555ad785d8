"""The image check of ``nox -s image``: build from the wheel, run it, probe it from inside."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import CommandError
from ..proc import read
from ..remotes.registry.container import (
    ContainerEngine,
    base_image_available,
    build_metadata,
    prepare_context,
)
from .matrix import PrereleaseError

__all__ = ["image_check"]


_HEALTH_PROBE = """
import json, sys, time, urllib.error, urllib.request
for _ in range(120):
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=2) as answer:
            print(answer.status, answer.read().decode()); sys.exit(0)
    except urllib.error.HTTPError as exc:
        status = exc.code; body = exc.read().decode()
        if status != 503: print(status, body); sys.exit(1)
    except OSError:
        pass
    time.sleep(0.25)
print("no answer from /health within 30 s"); sys.exit(1)
"""


def image_check(
    engine_name: str,
    wheel: Path,
    dockerfile: Path,
    workdir: Path,
    *,
    package: str,
    version: str,
    base_image: str,
    revision: str,
) -> str:
    """Build the image from *wheel*; check ``--version``, the labels and ``/health`` inside it."""
    engine = ContainerEngine(engine_name)
    if engine.name == "buildah":
        raise PrereleaseError(
            "buildah cannot run the service to probe /health: install podman "
            "(scripts/container-env) or docker"
        )
    if not base_image_available(engine, base_image):
        raise PrereleaseError(
            f"the base image {base_image} is not in {engine.name}'s store: "
            "run scripts/container-env as root to build it"
        )
    tag = f"localhost/{package}:{version}-prerelease"
    args = build_metadata(version, revision, base_image=base_image)
    context = prepare_context(wheel, dockerfile, workdir / "context", args)
    try:
        engine.build(context, tags=[tag], build_args=args)
    except CommandError as exc:
        raise PrereleaseError(f"the image did not build from {dockerfile.name}: {exc}") from None
    # The image is kept (the next run re-tags it): `podman rmi` would also prune the untagged
    # layer images that concurrent builds on this machine may be reusing from the cache.
    problems = []
    shown = engine.run(tag, ["--version"]).strip()
    if shown != f"{package} {version}":
        problems.append(f"`--version` in the image printed {shown!r}, not '{package} {version}'")
    labels = engine.labels(tag)
    for key, want in (("version", version), ("revision", revision)):
        got = labels.get(f"org.opencontainers.image.{key}")
        if got != want:
            problems.append(f"label org.opencontainers.image.{key} is {got!r}, not {want!r}")
    health = _probe_health(engine, tag, f"mdi-prerelease-{time.time_ns()}")
    if problems:
        raise PrereleaseError("the image is wrong: " + "; ".join(problems))
    return f"image {tag} built with {engine.name}: --version, labels and /health ({health}) OK"


def _probe_health(engine: ContainerEngine, tag: str, name: str) -> str:
    """Start the image's service, migrate its database, ask /health from inside the container."""
    container = engine.run(tag, detach=True, name=name).strip()
    try:
        engine.exec(container, ["market-data-ingestion", "db", "upgrade"])
        return engine.exec(container, ["python", "-c", _HEALTH_PROBE]).strip()
    except CommandError as exc:
        logs = read([engine.name, "logs", container], timeout=60)
        tail = "\n".join((logs.stdout + logs.stderr).strip().splitlines()[-10:])
        raise PrereleaseError(
            f"the service in the image did not answer /health: {exc}"
            + (f"\ncontainer log:\n{tail}" if tail else "")
        ) from None
    finally:
        engine.remove_container(container)
