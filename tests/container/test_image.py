"""The image built from the real wheel: runs, serves /health, carries its labels, rebuilds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.errors import CommandError, ConfigError, UsageError
from release_engine.proc import observing, recording, run
from release_engine.remotes.registry.container import (
    BASE_IMAGE,
    ContainerEngine,
    prepare_context,
)
from tests.conftest import make_repo
from tests.container.conftest import (
    CREATED,
    SOURCE,
    VERSION_LABEL,
    Built,
    build_image,
)

pytestmark = pytest.mark.container

HEALTH = """\
import urllib.error, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=2) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"""


def test_version_flag_prints_the_version(engine: ContainerEngine, image: Built) -> None:
    assert engine.run(image.ref, ["--version"]) == f"market-data-ingestion {image.version}\n"


def test_labels_and_runtime_config(engine: ContainerEngine, image: Built) -> None:
    assert engine.label(image.ref, VERSION_LABEL) == image.version
    labels = engine.labels(image.ref)
    assert labels["org.opencontainers.image.revision"] == image.revision
    assert len(image.revision) == 40
    assert labels["org.opencontainers.image.created"] == CREATED
    assert labels["org.opencontainers.image.source"] == SOURCE
    assert engine.image_id(image.ref) == image.image_id
    config = (engine.inspect(image.ref) or {}).get("Config", {})
    if engine.name != "buildah":
        assert config["User"] == "10001:10001"
        assert config["Entrypoint"] == ["market-data-ingestion"]
        assert config["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
        assert "8000/tcp" in config["ExposedPorts"]
        assert "MDI_DB_PATH=/var/lib/market-data-ingestion/market_data.sqlite3" in config["Env"]


def _health(engine: ContainerEngine, container: str) -> tuple[int, dict[str, str]]:
    status, _, body = engine.exec(container, ["python", "-c", HEALTH]).partition(" ")
    return int(status), json.loads(body)


def test_serve_answers_health_inside_the_container(engine: ContainerEngine, image: Built) -> None:
    if engine.name == "buildah":
        pytest.skip("buildah cannot run a service container")
    name = f"mdi-test-{uuid.uuid4().hex[:10]}"
    engine.run(image.ref, detach=True, name=name)  # the image's default command: serve
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _health(engine, name)
                break
            except CommandError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert status == 503, body  # a fresh database is not migrated yet
        assert engine.exec(name, ["id", "-u"]).strip() == "10001"
        # The non-root user can write its database where MDI_DB_PATH points.
        assert "upgraded database" in engine.exec(name, ["market-data-ingestion", "db", "upgrade"])
        assert _health(engine, name) == (200, {"status": "ok", "database": "ok"})
    finally:
        engine.remove_container(name)


def next_patch(version: str) -> str:
    """1.4.2 -> 1.4.3 (and 1.0.0rc1 -> 1.0.1)."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    assert found, version
    return f"{found[1]}.{found[2]}.{int(found[3]) + 1}"


@pytest.fixture(scope="module")
def rebuilt(
    engine: ContainerEngine,
    image: Built,
    image_name: str,
    source_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Built]:
    """A copy of the repository moved to the next patch version, rebuilt on the same cache."""
    repo = make_repo(tmp_path_factory.mktemp("bumped") / "repo", source_repo)
    new = next_patch(image.version)
    bump = shutil.which("bump-my-version")
    argv = [bump] if bump else [sys.executable, "-m", "bumpversion"]
    subprocess.run(
        [*argv, "bump", "--new-version", new],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"ARG VERSION={new}\n" in (repo / "Dockerfile").read_text()
    built = build_image(engine, repo, tmp_path_factory.mktemp("rebuilt"), f"{image_name}:v{new}")
    yield built
    engine.remove(built.ref)


def test_version_only_rebuild_has_the_new_label(
    engine: ContainerEngine, image: Built, rebuilt: Built
) -> None:
    assert rebuilt.version == next_patch(image.version)
    assert engine.label(rebuilt.ref, VERSION_LABEL) == rebuilt.version
    assert engine.label(image.ref, VERSION_LABEL) == image.version
    assert engine.run(rebuilt.ref, ["--version"]) == f"market-data-ingestion {rebuilt.version}\n"


def test_version_only_rebuild_reuses_the_dependency_layer(
    engine: ContainerEngine, image: Built, rebuilt: Built
) -> None:
    def layers(ref: str) -> list[str]:
        record = engine.inspect(ref) or {}
        rootfs = record.get("RootFS") or record.get("OCIv1", {}).get("rootfs", {})
        return list(rootfs.get("Layers") or rootfs.get("diff_ids") or [])

    # base image, then the user, requirements.txt and `pip install -r` layers
    shared = len(layers(BASE_IMAGE)) + 3
    old, new = layers(image.ref), layers(rebuilt.ref)
    assert old[:shared] == new[:shared], "the dependency layers were rebuilt"
    assert old[shared:] != new[shared:], "the wheel layer should differ"
    if engine.name != "docker":  # buildah's own words; BuildKit says CACHED
        step = re.search(r"STEP \d+/\d+: RUN .*python3 -m pip install .*\n(.*)", rebuilt.output)
        assert step and "Using cache" in step.group(1), rebuilt.output


def test_a_version_only_rebuild_redoes_only_the_few_instructions_from_arg_version(
    engine: ContainerEngine, rebuilt: Built
) -> None:
    if engine.name == "docker":
        pytest.skip("BuildKit prints no STEP lines")
    steps = re.findall(r"^STEP \d+/\d+: (.*)\n((?:(?!STEP ).*\n)*)", rebuilt.output, re.M)
    instructions = [step for step, _ in steps]
    first = next(i for i, text in enumerate(instructions) if text.startswith("ARG VERSION"))
    for text, output in steps[1:first]:  # after FROM: every one of them from the cache
        assert "Using cache" in output, f"{text} was rebuilt"
    # From the version on: ARG VERSION, the package's one COPY and the labels' one LABEL;
    # no container runs (pip ran in a layer no release changes).
    assert instructions[first:] == [
        "ARG VERSION=" + rebuilt.version,
        "COPY dist/market_data_ingestion-${VERSION}/ /opt/market-data-ingestion/",
        instructions[-1],
    ], rebuilt.output
    assert instructions[-1].startswith("LABEL org.opencontainers.image.title=")
    assert not [text for text in instructions[first:] if text.startswith("RUN")], rebuilt.output


def test_prepare_context_lays_out_the_installed_wheel_and_the_lock(tmp_path: Path) -> None:
    wheel = tmp_path / "demo_pkg-1.2.3-py3-none-any.whl"
    metadata = (
        "Metadata-Version: 2.3\nName: demo-pkg\nVersion: 1.2.3\n"
        "Requires-Dist: fastapi>=0.110\n"
        'Requires-Dist: tomli>=2; python_version < "3.11"\n'
        "Requires-Dist: psycopg2-binary>=2.9; extra == 'postgresql'\n"
        'Requires-Dist: rich; python_version >= "3.8" and extra == "cli"\n'
    )
    files = {
        "demo_pkg/__init__.py": '__version__ = "1.2.3"\n',
        "demo_pkg-1.2.3.dist-info/METADATA": metadata,
        "demo_pkg-1.2.3.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        "demo_pkg-1.2.3.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo_pkg:main\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "demo_pkg-1.2.3.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in {**files, "demo_pkg-1.2.3.dist-info/RECORD": record}.items():
            archive.writestr(name, text)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    dest = tmp_path / "context"
    (dest / "dist").mkdir(parents=True)
    (dest / "dist" / "stale-0.0.1-py3-none-any.whl").write_text("old")
    args = {"VERSION": "1.2.3", "REVISION": "abc", "BASE_IMAGE": "localhost/base"}
    lock = "fastapi==0.110.0 \\\n    --hash=sha256:00\ntomli==2.0.1 ; python_version < '3.11'\n"
    assert prepare_context(wheel, dockerfile, dest, args, lock=lock) == dest
    assert sorted(p.name for p in (dest / "dist").iterdir()) == [
        "demo_pkg-1.2.3",
        "requirements.txt",
    ]
    assert (dest / "dist" / "requirements.txt").read_text() == lock  # the hashed lock
    staged = dest / "dist" / "demo_pkg-1.2.3"
    assert sorted(p.name for p in staged.iterdir()) == [
        "build-info.json",
        "demo_pkg",
        "demo_pkg-1.2.3.dist-info",
    ]
    # what the image's labels are made of, in the layer under them (the base image is not)
    assert json.loads((staged / "build-info.json").read_text()) == {
        "revision": "abc",
        "version": "1.2.3",
    }
    assert (staged / "demo_pkg" / "__init__.py").read_text() == '__version__ = "1.2.3"\n'
    info = staged / "demo_pkg-1.2.3.dist-info"
    assert (info / "INSTALLER").read_text() == "release-engine\n"  # installed, not unzipped
    assert "demo_pkg/__init__.py,sha256=" in (info / "RECORD").read_text()
    assert (dest / "Dockerfile").read_text() == "FROM scratch\n"


def test_build_command_is_data(tmp_path: Path) -> None:
    """The argv a dry run prints is the argv build() runs, for each engine."""
    iid = tmp_path / "image.iid"
    common = (
        "--file",
        str(tmp_path / "Dockerfile"),
        "--iidfile",
        str(iid),
        "--tag",
        "r/x:v1",
        "--tag",
        "r/x:latest",
        "--build-arg",
        "VERSION=1",
        "--label",
        f"{VERSION_LABEL}=1",
        str(tmp_path),
    )
    expected = {
        "podman": ("podman", "build", "--isolation=chroot", "--layers", *common),
        "buildah": ("buildah", "bud", "--isolation=chroot", "--layers", *common),
        "docker": ("docker", "build", *common),
    }
    for name, argv in expected.items():
        command = ContainerEngine(name).build_command(
            tmp_path,
            tags=["r/x:v1", "r/x:latest"],
            build_args={"VERSION": "1"},
            labels={VERSION_LABEL: "1"},
            iidfile=iid,
        )
        assert command.argv == argv and command.long


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no wheel"):
        prepare_context(tmp_path / "missing.whl", tmp_path / "Dockerfile", tmp_path / "c", {})
    (tmp_path / "x-1-py3-none-any.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(ConfigError, match="no Dockerfile"):
        prepare_context(
            tmp_path / "x-1-py3-none-any.whl", tmp_path / "Dockerfile", tmp_path / "c", {}
        )
    with pytest.raises(ConfigError, match="unknown container engine"):
        ContainerEngine("lxc")


def test_prerelease_image_check_sees_the_revision_of_each_build(
    engine: ContainerEngine, source_repo: Path, tmp_path: Path
) -> None:
    """Two builds of the same wheel at two commits: the second image must say the second
    commit. Without the labels on the command line the cached LABEL layer kept the first."""
    from release_engine.prerelease.image import image_check
    from tests.container.conftest import build_wheel, project_version

    wheel = build_wheel(source_repo, tmp_path / "dist")
    version = project_version(source_repo)
    for n, revision in enumerate(("a" * 40, "b" * 40)):
        report = image_check(
            engine.name, wheel, source_repo / "Dockerfile", tmp_path / f"build{n}",
            package="market-data-ingestion", version=version, base_image=BASE_IMAGE,
            revision=revision,
        )  # fmt: skip
        assert "labels" in report
        tag = f"localhost/market-data-ingestion:{version}-prerelease"
        assert engine.label(tag, "org.opencontainers.image.revision") == revision


def test_removing_a_tag_leaves_the_image_s_other_names(engine: ContainerEngine) -> None:
    # `podman untag IMAGE` with no name drops every name: the release's own tags, a base image.
    first = f"localhost/mdi-names-{uuid.uuid4().hex[:8]}:one"
    second = first.replace(":one", ":two")
    for name in (first, second):
        run([engine.name, "tag", BASE_IMAGE, name], timeout=120)
    try:
        engine.remove(first)
        assert engine.inspect(first) is None
        assert engine.inspect(second) is not None
        assert engine.inspect(BASE_IMAGE) is not None
    finally:
        engine.remove(second)


def test_several_local_images_are_looked_at_in_one_call(
    engine: ContainerEngine, image: Built
) -> None:
    """What the image step observes (its tag and ``latest``), in one engine process; a name
    the store lacks is None beside the others, as :meth:`inspect` would say one by one."""
    other = f"localhost/mdi-names-{uuid.uuid4().hex[:8]}:latest"
    missing = other.replace(":latest", ":never")
    run([engine.name, "tag", image.ref, other], timeout=120)
    try:
        with recording() as written, observing():
            found = engine.inspect_each([image.ref, other, missing])
        assert written == []  # reads only
        assert list(found) == [image.ref, other, missing] and found[missing] is None
        assert engine.id_of(found[image.ref]) == engine.id_of(found[other]) == image.image_id
        assert engine.labels_of(found[other]) == engine.labels(image.ref)
        assert engine.id_of(found[image.ref]) == engine.image_id(image.ref)
    finally:
        engine.remove(other)
