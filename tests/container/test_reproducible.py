"""The build command's ``--timestamp`` (the tagged commit's time): the same inputs built again
with nothing cached give the very same image ID, where without it they do not."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from release_engine.proc import run
from release_engine.remotes.registry.container import BASE_IMAGE, ContainerEngine

pytestmark = pytest.mark.container

EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def _build(engine: ContainerEngine, context: Path, tag: str, timestamp: int | None) -> str:
    iid = context / f"{uuid.uuid4().hex}.iid"
    command = engine.build_command(context, tags=[tag], iidfile=iid, timestamp=timestamp)
    run([*command.argv[:2], "--no-cache", *command.argv[2:]], timeout=600)
    return iid.read_text().strip()


def test_building_twice_from_scratch_gives_one_image_id(
    engine: ContainerEngine, tmp_path: Path
) -> None:
    if engine.name == "docker":
        pytest.skip("docker has no --timestamp")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nCOPY payload.txt /opt/payload.txt\n"
        "RUN python3 -c \"open('/opt/made.txt', 'w').write('made in a RUN')\"\n"
    )
    (tmp_path / "payload.txt").write_text("the same inputs\n")
    tag = f"localhost/mdi-reproducible-{uuid.uuid4().hex[:8]}"
    try:
        first = _build(engine, tmp_path, f"{tag}:a", EPOCH)
        second = _build(engine, tmp_path, f"{tag}:b", EPOCH)
        assert first == second
        assert _build(engine, tmp_path, f"{tag}:c", None) != first  # the build's own time
    finally:
        for name in ("a", "b", "c"):
            engine.remove(f"{tag}:{name}")
