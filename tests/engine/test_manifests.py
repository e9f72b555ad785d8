"""The deployment manifests name the image that was pushed: host, path and tag."""

from __future__ import annotations

import pytest

from release_engine.steps.common import retarget_manifest

MANIFEST = """\
spec:
  containers:
    - name: app
      image: ghcr.io/your-org/market-data-ingestion:v0.1.0
    - name: sidecar
      image: ghcr.io/your-org/metrics-exporter:v3
    - name: lookalike
      image: ghcr.io/your-org/old-market-data-ingestion:v0.1.0
"""


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/your-org/market-data-ingestion",
        "127.0.0.1:5000/rehearsal/market-data-ingestion",  # --set image=… elsewhere
        "registry.example.com:8443/team/apps/market-data-ingestion",
    ],
)
def test_the_app_image_is_the_configured_one_at_the_new_tag(image: str) -> None:
    moved = retarget_manifest(MANIFEST, image, "v0.2.0")
    assert f"      image: {image}:v0.2.0\n" in moved
    assert "market-data-ingestion:v0.1.0\n    - name: sidecar" not in moved
    # Other images, and names that merely end the same way, stay as they were.
    assert "image: ghcr.io/your-org/metrics-exporter:v3\n" in moved
    assert "image: ghcr.io/your-org/old-market-data-ingestion:v0.1.0\n" in moved
    assert retarget_manifest(moved, image, "v0.2.0") == moved  # idempotent: observed as done


def test_a_bare_name_without_registry_is_qualified() -> None:
    moved = retarget_manifest(
        "image: market-data-ingestion:latest\n", "ghcr.io/o/market-data-ingestion", "v1.0.0"
    )
    assert moved == "image: ghcr.io/o/market-data-ingestion:v1.0.0\n"
