"""Fixtures for the container tests: a real wheel of this repository, built into a real image.

The tests need a container engine and the local base image (``scripts/container-env`` makes
both). Without them they are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_engine.config import read_pyproject
from release_engine.remotes.registry.container import (
    BASE_IMAGE,
    ContainerEngine,
    base_image_available,
    build_metadata,
    detect_engine,
    prepare_context,
)
from tests.conftest import git, in_ci

VERSION_LABEL = "org.opencontainers.image.version"
SOURCE = "https://example.invalid/market-data-ingestion"
CREATED = "2026-01-02T03:04:05+00:00"


def unavailable(reason: str) -> None:
    """Skip, or under CI fail: there a missing engine is a broken machine, not a choice."""
    reason = f"{reason}: run `bash scripts/container-env` as root"
    if in_ci():
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


def project_version(repo: Path) -> str:
    return str(read_pyproject(repo)["project"]["version"])


def build_wheel(repo: Path, outdir: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(repo)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = outdir.glob("market_data_ingestion-*.whl")
    return wheel


@dataclass(frozen=True)
class Built:
    """An image built from a wheel: its local tag, id, version and build output."""

    ref: str
    image_id: str
    version: str
    revision: str
    output: str


def build_image(engine: ContainerEngine, repo: Path, tmp: Path, ref: str) -> Built:
    """Build *repo*'s wheel, then the image from it, tagged *ref*, as the release does."""
    version = project_version(repo)
    wheel = build_wheel(repo, tmp / "dist")
    revision = git(repo, "rev-parse", "HEAD") if (repo / ".git").exists() else "unknown"
    args = build_metadata(version, revision, created=CREATED, source=SOURCE, base_image=BASE_IMAGE)
    context = prepare_context(wheel, repo / "Dockerfile", tmp / "context", args)
    image_id = engine.build(context, tags=[ref], build_args=args)
    return Built(ref, image_id, version, revision, engine.last_output)


@pytest.fixture(scope="session")
def engine() -> ContainerEngine:
    name = detect_engine()
    if name is None:
        unavailable("no container engine (podman, buildah or docker) is usable")
    assert name is not None
    found = ContainerEngine(name)
    if not base_image_available(found):
        unavailable(f"the local base image {BASE_IMAGE} is missing from {name}")
    return found


@pytest.fixture(scope="session")
def image_name() -> str:
    """A repository name of this test run's own, so parallel runs do not meet."""
    return f"localhost/mdi-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def image(
    engine: ContainerEngine,
    source_repo: Path,
    image_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Built]:
    """This repository's wheel built into an image, tagged ``vVERSION``."""
    version = project_version(source_repo)
    built = build_image(
        engine, source_repo, tmp_path_factory.mktemp("image"), f"{image_name}:v{version}"
    )
    yield built
    engine.remove(built.ref)
