"""The registry stand-in and the skopeo-backed Registry, with a real push of a real image."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import stat
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_engine.errors import CommandError, ConfigError, ReleaseError, StandInError
from release_engine.proc import read, recording, run
from release_engine.remotes.registry.client import Registry
from release_engine.remotes.registry.container import BASE_IMAGE, ContainerEngine
from release_engine.standins.registry import RegistryStandIn
from tests.container.conftest import VERSION_LABEL, unavailable

pytestmark = pytest.mark.container
REPOSITORY = "market-data-ingestion"
VERSION = "1.2.3"


@pytest.fixture(scope="module")
def skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        unavailable("skopeo is not installed")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryStandIn]:
    try:
        stand_in = RegistryStandIn(tmp_path_factory.mktemp("registry"))
    except StandInError as exc:
        unavailable(f"the registry stand-in does not start ({exc})")
    with stand_in:
        yield stand_in


def open_registry(
    stand_in: RegistryStandIn, image: str, authfile: Path | None, **kw: str
) -> Registry:
    credentials = {"username": stand_in.username, "password": stand_in.password, **kw}
    return Registry(image, tls_verify=False, authfile=authfile, **credentials)


@dataclass(frozen=True)
class Pushed:
    """A tiny image built here and pushed as ``IMAGE:vVERSION``."""

    image: str
    ref: str
    registry: Registry
    progress: list[str]


@pytest.fixture(scope="module")
def pushed(
    engine: ContainerEngine,
    skopeo: str,
    registry: RegistryStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pushed]:
    """A one-LABEL image on the local base image, pushed with push_command and the login held
    in memory (``--authfile /dev/fd/N``), as a release pushes it."""
    tmp = tmp_path_factory.mktemp("tiny")
    (tmp / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL org.example.tiny=yes\n")
    image = f"{registry.url}/ns-{uuid.uuid4().hex[:8]}/{REPOSITORY}"
    ref = f"{image}:v{VERSION}"
    lines: list[str] = []
    engine.build(tmp, tags=[ref], labels={VERSION_LABEL: VERSION}, progress=lines.append)
    with open_registry(registry, image, None) as reg:
        reg.login()
        push = engine.push_command(
            ref, tls_verify=False, authfile=reg.authfile, pass_fds=reg.pass_fds
        )
        run(push)
        yield Pushed(image, ref, reg, lines)
    engine.remove(ref)


def test_stand_in_wants_the_password(registry: RegistryStandIn) -> None:
    assert registry.url.startswith("127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{registry.base_url}/v2/", timeout=5)
    assert caught.value.code == 401


def test_build_streams_its_progress(pushed: Pushed) -> None:
    assert pushed.progress, "build() printed nothing to the progress callback"


def test_pushed_image_is_observed(pushed: Pushed) -> None:
    reg = pushed.registry
    digest = reg.digest(f"v{VERSION}")
    assert digest is not None and digest.startswith("sha256:") and len(digest) == 71
    # The hash of the raw manifest is the digest skopeo itself reports.
    argv = ["skopeo", "inspect", "--no-tags", "--tls-verify=false"]
    shown = read([*argv, "--authfile", str(reg.authfile), f"docker://{pushed.ref}"], check=True,
                 pass_fds=reg.pass_fds)  # fmt: skip
    assert json.loads(shown.stdout)["Digest"] == digest
    labels = reg.labels(f"v{VERSION}")
    assert labels[VERSION_LABEL] == VERSION and labels["org.example.tiny"] == "yes"
    assert reg.tags() == [f"v{VERSION}"]
    assert reg.push_ref("latest") == f"{pushed.image}:latest"


def test_copy_to_latest_keeps_the_digest(pushed: Pushed) -> None:
    reg = pushed.registry
    command = reg.copy_command(f"v{VERSION}", "latest")
    assert command.long
    assert command.argv == (
        "skopeo",
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--authfile",
        str(reg.authfile),
        f"docker://{pushed.image}:v{VERSION}",
        f"docker://{pushed.image}:latest",
    )
    with recording() as written:
        assert reg.digest("latest") is None  # reads are never recorded as writes
        run(command)
    assert written == [command]
    assert reg.digest("latest") == reg.digest(f"v{VERSION}")
    assert sorted(reg.tags()) == ["latest", f"v{VERSION}"]


def test_unknown_tags_and_repositories_are_absent(
    pushed: Pushed, registry: RegistryStandIn, tmp_path: Path
) -> None:
    assert pushed.registry.digest("v0.0.0-nothing") is None
    assert pushed.registry.labels("v0.0.0-nothing") == {}
    with open_registry(registry, f"{registry.url}/nothing/here", tmp_path / "a.json") as reg:
        assert reg.digest("v1") is None
        assert reg.labels("v1") == {}
        assert reg.tags() == []


def test_wrong_password_is_a_config_error_without_the_password(
    pushed: Pushed, registry: RegistryStandIn, tmp_path: Path
) -> None:
    secret = "not-the-password-0123456789"
    with open_registry(registry, pushed.image, tmp_path / "a.json", password=secret) as reg:
        for look in (lambda: reg.digest(f"v{VERSION}"), lambda: reg.labels("latest"), reg.tags):
            with pytest.raises(ConfigError) as caught:
                look()
            message = str(caught.value)
            assert "\n" not in message and secret not in message
            assert registry.url in message and "REGISTRY_USERNAME/REGISTRY_PASSWORD" in message
            assert "refused the credentials" in message
        assert secret not in " ".join(reg.copy_command("a", "b").argv)
    anonymous = Registry(
        pushed.image,
        tls_verify=False,
        username=None,
        password=None,
        authfile=tmp_path / "never.json",
    )
    with pytest.raises(ConfigError, match="wants a login"):
        anonymous.tags()
    assert anonymous.authfile is None and not (tmp_path / "never.json").exists()
    assert "--authfile" not in anonymous.copy_command("a", "b").argv


def test_push_with_a_wrong_password_fails_without_showing_it(
    engine: ContainerEngine, pushed: Pushed, registry: RegistryStandIn, tmp_path: Path
) -> None:
    ref = f"{pushed.image}:rejected"
    engine.tag(pushed.ref, ref)
    secret = "not-the-password-0123456789"
    try:
        with open_registry(registry, pushed.image, tmp_path / "a.json", password=secret) as reg:
            reg.login()
            command = engine.push_command(ref, tls_verify=False, authfile=reg.authfile)
            with pytest.raises(CommandError) as caught:
                run(command)
    finally:
        engine.remove(ref)
    assert secret not in str(caught.value) and secret not in " ".join(caught.value.args_)
    assert secret not in command.render()
    assert pushed.registry.digest("rejected") is None


def test_stopped_registry_is_unreachable(skopeo: str, tmp_path: Path) -> None:
    stand_in = RegistryStandIn(tmp_path / "registry")
    stand_in.stop()
    with open_registry(stand_in, f"{stand_in.url}/ns/{REPOSITORY}", tmp_path / "a.json") as reg:
        for look in (lambda: reg.digest("v1"), lambda: reg.labels("v1"), reg.tags):
            with pytest.raises(ReleaseError) as caught:
                look()
            assert not isinstance(caught.value, ConfigError)
            assert str(caught.value).startswith(f"registry {stand_in.url} is unreachable: ")
            assert "connection refused" in str(caught.value)
            assert stand_in.password not in str(caught.value)


def test_other_registry_failures_say_what_to_do(
    skopeo: str, registry: RegistryStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = f"{registry.url}/ns/{REPOSITORY}"
    https = Registry(
        image,
        tls_verify=True,
        username=registry.username,
        password=registry.password,
        authfile=tmp_path / "a.json",
    )
    with https, pytest.raises(ConfigError, match=r"plain HTTP.*registry_tls_verify = false"):
        https.digest("v1")
    upper = open_registry(registry, f"{registry.url}/NS/Upper", tmp_path / "a.json")
    with upper, pytest.raises(ReleaseError, match=r"^skopeo could not list the tags of .*again$"):
        upper.tags()
    with open_registry(registry, image, tmp_path / "a.json") as reg:
        monkeypatch.setattr("release_engine.remotes.registry.client._READ_TIMEOUT", 0.001)
        with pytest.raises(ReleaseError, match="did not answer within"):
            reg.tags()
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ConfigError, match="skopeo is not installed"):
            reg.tags()


def test_authfile_is_private_and_removed_on_close(
    skopeo: str, registry: RegistryStandIn, tmp_path: Path
) -> None:
    authfile = tmp_path / "state" / "registry-auth.json"
    reg = open_registry(registry, f"{registry.url}/nothing/{REPOSITORY}", authfile)
    assert reg.authfile == authfile and not authfile.exists()
    assert reg.tags() == []  # the first read writes it
    assert stat.S_IMODE(authfile.stat().st_mode) == 0o600
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    assert json.loads(authfile.read_text()) == {"auths": {registry.url: {"auth": token}}}
    reg.close()
    assert not authfile.exists()
    assert reg.digest("v1") is None  # a later read writes it again
    with reg:
        assert authfile.exists()
    assert not authfile.exists()
    assert [p.name for p in authfile.parent.iterdir()] == []  # no temporary left behind


def test_a_login_held_in_memory_never_touches_the_disk(
    skopeo: str, registry: RegistryStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a file path (podman, buildah, skopeo), the login lives in an anonymous memory
    file named /dev/fd/N, inherited by the commands that name it: a SIGKILL leaves nothing."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    reg = open_registry(registry, f"{registry.url}/nothing/{REPOSITORY}", None)
    path = reg.authfile
    assert path is not None and str(path).startswith("/dev/fd/") and reg.pass_fds
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    assert json.loads(path.read_text()) == {"auths": {registry.url: {"auth": token}}}
    assert os.readlink(path).startswith("/memfd:registry-auth")
    assert reg.tags() == []  # skopeo logged in with it (a wrong login is a ConfigError)
    assert reg.copy_command("a", "b").pass_fds == reg.pass_fds
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
    fd = reg.pass_fds[0]
    reg.close()
    with pytest.raises(OSError):
        os.fstat(fd)  # closed: the credentials are gone with it
    assert reg.tags() == []  # and made again on the next read
    reg.close()


def test_registry_names() -> None:
    def make(image: str) -> Registry:
        return Registry(
            image,
            tls_verify=True,
            username="u",
            password="p" * 8,
            authfile=Path("/nonexistent/auth.json"),
        )

    assert make("ghcr.io/org/x").host == "ghcr.io"
    assert make("127.0.0.1:5000/ns/x").host == "127.0.0.1:5000"
    assert make("docker.io/library/x").host == "docker.io"
    assert make("org/x").host == "docker.io"
    assert make("ghcr.io/org/x").copy_command("v1", "latest").argv[4:6] == (
        "--src-tls-verify=true",
        "--dest-tls-verify=true",
    )
    for bad in ("ghcr.io/org/x:v1", "ghcr.io/org/x@sha256:00", "x", ""):
        with pytest.raises(ConfigError, match="without a tag"):
            make(bad)


def test_push_commands_are_data() -> None:
    auth = Path("/state/registry/config.json")
    podman = ContainerEngine("podman").push_command("h:1/ns/x:v1", tls_verify=False, authfile=auth)
    assert podman.long and podman.argv == (
        "podman",
        "push",
        "--tls-verify=false",
        "--authfile",
        str(auth),
        "h:1/ns/x:v1",
        "docker://h:1/ns/x:v1",
    )
    bare = ContainerEngine("buildah").push_command("ghcr.io/o/x:v1", tls_verify=True, authfile=None)
    assert bare.argv == (
        "buildah",
        "push",
        "--tls-verify=true",
        "ghcr.io/o/x:v1",
        "docker://ghcr.io/o/x:v1",
    )
    docker = ContainerEngine("docker")
    assert docker.push_command("r/x:v1", tls_verify=False, authfile=auth).argv == (
        "docker",
        "--config",
        "/state/registry",
        "push",
        "r/x:v1",
    )
    assert docker.push_command("r/x:v1", tls_verify=True, authfile=None).argv == (
        "docker",
        "push",
        "r/x:v1",
    )
    with pytest.raises(ReleaseError, match=r"config\.json"):
        docker.push_command("r/x:v1", tls_verify=True, authfile=Path("/s/auth.json"))


def test_stop_leaves_nothing_running(tmp_path: Path) -> None:
    stand_in = RegistryStandIn(tmp_path / "registry")
    port = stand_in.port
    assert stand_in.running
    stand_in.stop()
    assert not stand_in.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with RegistryStandIn() as temporary:
        root = temporary.root
    assert not temporary.running and not root.exists()
