"""The registry stand-in and the registry client, with a real push of the real image."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.errors import CommandError, ConfigError
from release_engine.standins.registry import RegistryStandIn
from release_engine.tools.container import ContainerEngine, RegistryClient
from tests.container.conftest import VERSION_LABEL, Built

pytestmark = pytest.mark.container
REPOSITORY = "market-data-ingestion"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryStandIn]:
    with RegistryStandIn(tmp_path_factory.mktemp("registry")) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def pushed(engine: ContainerEngine, image: Built,
           registry: RegistryStandIn) -> Iterator[list[str]]:
    """The image pushed as ``vVERSION`` and ``latest``, with the stand-in's password."""
    refs = [f"{registry.url}/{REPOSITORY}:{tag}" for tag in (f"v{image.version}", "latest")]
    for ref in refs:
        engine.tag(image.ref, ref)
        engine.push(ref, tls_verify=False, username=registry.username,
                    password=registry.password)
    yield refs
    for ref in refs:
        engine.remove(ref)


def client(registry: RegistryStandIn) -> RegistryClient:
    return RegistryClient(registry.base_url, registry.username, registry.password)


def test_stand_in_wants_the_password(registry: RegistryStandIn) -> None:
    assert registry.url.startswith("127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{registry.base_url}/v2/", timeout=5)
    assert caught.value.code == 401
    with pytest.raises(ConfigError, match="check the registry credentials"):
        RegistryClient(registry.base_url, registry.username, "wrong").tags(REPOSITORY)
    assert client(registry).tags("nothing/here") == []
    assert client(registry).manifest_digest("nothing/here", "v1") is None
    assert client(registry).config_labels("nothing/here", "v1") == {}


def test_pushed_tags_share_one_digest(registry: RegistryStandIn, image: Built,
                                      pushed: list[str]) -> None:
    registry_client = client(registry)
    digest = registry_client.manifest_digest(REPOSITORY, f"v{image.version}")
    assert digest is not None and digest.startswith("sha256:")
    assert registry_client.manifest_digest(REPOSITORY, "latest") == digest
    assert sorted(registry_client.tags(REPOSITORY)) == sorted(["latest", f"v{image.version}"])
    labels = registry_client.config_labels(REPOSITORY, f"v{image.version}")
    assert labels[VERSION_LABEL] == image.version
    assert labels["org.opencontainers.image.revision"] == image.revision


def test_push_with_a_wrong_password_fails_without_showing_it(
        engine: ContainerEngine, image: Built, registry: RegistryStandIn,
        pushed: list[str]) -> None:
    ref = f"{registry.url}/{REPOSITORY}:rejected"
    engine.tag(image.ref, ref)
    secret = "not-the-password-0123456789"
    try:
        with pytest.raises(CommandError) as caught:
            engine.push(ref, tls_verify=False, username=registry.username, password=secret)
    finally:
        engine.remove(ref)
    assert secret not in str(caught.value) and secret not in " ".join(caught.value.args_)
    assert client(registry).manifest_digest(REPOSITORY, "rejected") is None


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
