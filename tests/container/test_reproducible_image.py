"""The release image built twice from clean stores is one image ID, with the hashed lock.

Two separate storage roots (podman's ``--root``/``--runroot``/``--tmpdir``) stand for two
fresh machines: nothing of one is cached in the other. The base image is loaded into each
from one ``oci-archive`` of the local base image (``scripts/container-env`` made it), as a
pull by digest would put the same image there. Both build the same context, as the release
does: the repository's wheel, the runtime lock exported from its uv.lock, ``--timestamp``
the tagged commit's time.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from release_engine.proc import run
from release_engine.remotes.registry.container import (
    BASE_IMAGE,
    ContainerEngine,
    build_metadata,
    prepare_context,
)
from release_engine.tools.image_lock import export_lock
from tests.container.conftest import build_wheel, project_version

pytestmark = pytest.mark.container

EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def _store(engine: ContainerEngine, root: Path) -> list[str]:
    """The engine's command with its own storage under *root* (a clean machine).

    ``--tmpdir`` too: ``system reset`` removes libpod's state directory (``/run/libpod`` by
    default), and with it every other podman command running beside this test would fail
    ("creating runtime status file").
    """
    return [
        engine.name,
        "--root", str(root / "storage"),
        "--runroot", str(root / "run"),
        "--tmpdir", str(root / "tmp"),
    ]  # fmt: skip


def _build_in(
    engine: ContainerEngine, root: Path, archive: Path, context: Path, args: dict[str, str]
) -> str:
    store = _store(engine, root)
    loaded = run([*store, "pull", f"oci-archive:{archive}"], timeout=300).stdout
    run([*store, "tag", loaded.strip().splitlines()[-1], BASE_IMAGE], timeout=60)
    iid = root / "iid"
    command = engine.build_command(
        context, tags=["localhost/mdi-repro:v0"], build_args=args, iidfile=iid, timestamp=EPOCH
    )
    run([*store, *command.argv[1:]], timeout=900)
    return iid.read_text().strip()


def test_the_image_built_twice_from_clean_stores_is_one_image_id(
    engine: ContainerEngine, source_repo: Path, tmp_path: Path
) -> None:
    if engine.name != "podman":  # docker has no --timestamp; buildah cannot run the image
        pytest.skip("two clean stores are podman's --root and --runroot")
    wheel = build_wheel(source_repo, tmp_path / "dist")
    version = project_version(source_repo)
    lock = export_lock(source_repo)
    args = build_metadata(
        version, "abc", created="2026-01-01T00:00:00+00:00", base_image=BASE_IMAGE
    )
    context = prepare_context(wheel, source_repo / "Dockerfile", tmp_path / "context", args)
    assert (context / "dist" / "requirements.txt").read_text() == lock
    archive = tmp_path / "base.tar"
    run([engine.name, "push", BASE_IMAGE, f"oci-archive:{archive}"], timeout=300)
    # podman wants a runroot path under 50 characters: not under pytest's tmp_path, nor under
    # $TMPDIR, which nox points into the session's folder of the checkout (as long as its path)
    short = Path("/tmp") if Path("/tmp").is_dir() else None
    roots = [Path(tempfile.mkdtemp(prefix=f"mdi-{n}-", dir=short)) for n in (1, 2)]
    try:
        first, second = (_build_in(engine, root, archive, context, args) for root in roots)
        assert first == second
        # what the image holds is what the lock pins (fastapi's version, for one; the lock
        # pins one for each range of Python versions, with markers)
        pins = {line.split()[0] for line in lock.splitlines() if line.startswith("fastapi==")}
        shown = run(
            [*_store(engine, roots[0]), "run", "--rm", "--entrypoint", "python3",
             "localhost/mdi-repro:v0", "-c",
             "import importlib.metadata as m; print('fastapi==' + m.version('fastapi'))"],
            timeout=300,
        ).stdout.strip()  # fmt: skip
        assert shown in pins, (shown, pins)
    finally:
        for root in roots:
            run([*_store(engine, root), "system", "reset", "--force"], check=False, timeout=300)
            shutil.rmtree(root, ignore_errors=True)
