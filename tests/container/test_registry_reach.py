"""Preflight reaches the registry with the release's login: a wrong password, or a login the
token server grants no push, is one line before anything changes (real docker-registry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.config import Credentials
from release_engine.context import Options, ReleaseContext
from release_engine.engine import open_release
from release_engine.errors import StandInError
from release_engine.reach import reach_problems
from release_engine.remotes.registry.container import detect_engine
from release_engine.standins.registry import RegistryStandIn
from release_engine.standins.token_auth import Grant
from release_engine.version import parse_version
from tests.engine.conftest import VERSION
from tests.engine.test_preflight import make_work

NAME = "team/market-data-ingestion"


@pytest.fixture(params=["htpasswd", "token"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegistryStandIn]:
    if detect_engine() is None:
        pytest.skip("no container engine: the release would skip the image")
    try:
        standin = RegistryStandIn(tmp_path / "registry", auth=request.param)
    except StandInError as exc:
        pytest.fail(f"the registry stand-in does not start: {exc}")
    with standin:
        yield standin


def context(work: Path, registry: RegistryStandIn, user: str, password: str) -> ReleaseContext:
    return open_release(
        work,
        parse_version(VERSION),
        overrides={
            "image": f"{registry.url}/{NAME}",
            "registry_tls_verify": False,
            "index_url": "",
            "github_repository": "",
        },
        options=Options(skip_prerelease=True),
        credentials=Credentials({"REGISTRY_USERNAME": user, "REGISTRY_PASSWORD": password}),
    )


def test_the_registry_login_is_checked_before_anything(
    registry: RegistryStandIn, source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    work = make_work(source_repo, tmp_path)
    assert reach_problems(context(work, registry, registry.username, registry.password)) == []
    wrong = reach_problems(context(work, registry, registry.username, "not-the-password"))
    assert len(wrong) == 1 and wrong[0].startswith(
        f"the container registry {registry.url} refused the login (401)"
    )
    assert "not-the-password" not in wrong[0]
    if registry.token_server is not None:  # a login that may only pull
        registry.token_server.add_user("reader", "reader-pw", [Grant(actions=("pull",))])
        found = reach_problems(context(work, registry, "reader", "reader-pw"))
        assert found == [
            f"the container registry {registry.url} grants REGISTRY_USERNAME no push to "
            f"{NAME} (only pull): use a login that may push"
        ]
