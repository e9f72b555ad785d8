"""The image's lock: uv.lock exported with hashes, offline and the same every time, covering
every runtime requirement of the wheel; what is wrong with it is one line, before any build."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from release_engine.errors import ConfigError
from release_engine.remotes.registry.container import build_metadata, prepare_context
from release_engine.tools.image_lock import check_covers, export_lock, pinned
from tests.conftest import REPO


def _project(tmp_path: Path) -> Path:
    """pyproject.toml and uv.lock of this repository: all ``uv export --frozen`` reads."""
    project = tmp_path / "project"
    project.mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(REPO / name, project / name)
    return project


def test_the_export_pins_every_runtime_dependency_with_hashes_and_no_dev_tool(
    tmp_path: Path,
) -> None:
    text = export_lock(_project(tmp_path))
    assert text == export_lock(_project(tmp_path / "again"))  # the same bytes, any time
    names = pinned(text)
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic"} <= names
    assert not {"pytest", "nox", "invoke", "market-data-ingestion"} & names  # no dev, no project
    requirements = [line for line in text.splitlines() if "==" in line]
    assert requirements and all(line.rstrip().endswith("\\") for line in requirements)
    assert text.count("--hash=sha256:") >= len(requirements)  # each pin has its hashes


def test_no_uv_lock_is_one_line_saying_to_lock(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "uv.lock").unlink()
    with pytest.raises(ConfigError, match=r"^no uv\.lock in .*; run `uv lock` and commit") as exc:
        export_lock(project)
    assert "\n" not in str(exc.value) and exc.value.exit_code == 3


def test_a_lock_that_misses_a_requirement_of_the_wheel_is_refused(tmp_path: Path) -> None:
    lock = "fastapi==0.110.0 \\\n    --hash=sha256:00\n"
    check_covers(lock, ["FastAPI>=0.110"])  # names compare normalized
    with pytest.raises(ConfigError, match=r"^uv\.lock pins no tomli, which the wheel requires"):
        check_covers(lock, ["fastapi>=0.110", 'tomli>=2; python_version < "3.11"'])
    # prepare_context refuses it before writing the context
    wheel = tmp_path / "demo-1.0.0-py3-none-any.whl"

    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "demo-1.0.0.dist-info/METADATA",
            "Metadata-Version: 2.3\nName: demo\nVersion: 1.0.0\nRequires-Dist: uvicorn\n",
        )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ConfigError, match="pins no uvicorn"):
        prepare_context(wheel, tmp_path / "Dockerfile", tmp_path / "ctx", {}, lock=lock)
    assert not (tmp_path / "ctx" / "Dockerfile").exists()


def test_a_base_image_pinned_by_digest_is_taken_a_malformed_digest_refused() -> None:
    digest = "sha256:" + "ab" * 32
    args = build_metadata("1.0.0", "abc", base_image=f"docker.io/library/python@{digest}")
    assert args["BASE_IMAGE"] == f"docker.io/library/python@{digest}"
    assert build_metadata("1.0.0", "abc", base_image="python:3.12-slim")["BASE_IMAGE"]
    with pytest.raises(ConfigError, match=r"names no digest: pin it as name@sha256:") as exc:
        build_metadata("1.0.0", "abc", base_image="python@sha256:abc")
    assert "\n" not in str(exc.value)
