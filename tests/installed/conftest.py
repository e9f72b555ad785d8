"""Checks of an INSTALLED market-data-ingestion wheel, run by the nox sessions migrations, cli,
api and sample_data (``nox -s build cli``). Outside nox they are skipped: the package they
check is the one in the running venv, never the source tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from mdi_helpers import EXPECTED_VERSION, PACKAGE, REPO, Mdi, Server, Servers, mdi_env


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if EXPECTED_VERSION:
        return
    skip = pytest.mark.skip(
        reason="checks an installed wheel: run it through nox "
        "(nox -s build cli api sample_data migrations)"
    )
    here = Path(__file__).parent
    for item in items:  # this hook sees the whole session's items: skip only ours
        if here in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def installed_wheel() -> None:
    """The package under test is the installed wheel of the expected version, not src/."""
    import market_data_ingestion

    location = Path(market_data_ingestion.__file__).resolve()
    assert REPO / "src" not in location.parents, (
        f"market_data_ingestion is imported from the source tree ({location}), not the wheel"
    )
    assert metadata.version(PACKAGE) == EXPECTED_VERSION, (
        f"installed {PACKAGE} is {metadata.version(PACKAGE)}, expected {EXPECTED_VERSION}: "
        "run `nox -s build` again"
    )


@pytest.fixture
def mdi(tmp_path: Path) -> Mdi:
    """The console script on a fresh, empty SQLite database in tmp_path."""
    db_path = tmp_path / "db" / "market.sqlite3"
    return Mdi(db_path, mdi_env(db_path))


@pytest.fixture
def migrated(mdi: Mdi) -> Mdi:
    mdi.ok("db", "upgrade")
    return mdi


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Mdi], Server]]:
    """Start the installed server on a free 127.0.0.1 port (stopped after the test)."""
    servers = Servers(tmp_path)
    yield servers
    servers.close()
