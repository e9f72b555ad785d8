"""A rehearsal is the release: it swaps the remotes for stand-ins, and nothing else.

The same project is released twice, each time against stand-ins of its own: once as
``inv release --rehearse`` does it (:func:`rehearsal_context`), once with the project's own
``[tool.release]`` whose remotes alone are pointed at the stand-ins (the GitHub stand-in serves
the project's repository name). What they write must be the same: the CHANGELOG, the GitHub
release body, the steps that run and those skipped (the project configures no mail server:
neither sends an email).
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path

import pytest

from release_engine.config import Credentials, load_config
from release_engine.context import Options
from release_engine.engine import open_release, release
from release_engine.output import ConsoleReporter
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes.github.remote import seed_green
from release_engine.report import Report
from release_engine.standins.github_api import GitHubStandIn
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import VERSION

pytestmark = pytest.mark.e2e

DAY = dt.date.today().isoformat()  # one release day for both, also across midnight


def rehearsed(source: Path, place: Path) -> tuple[Report, str]:
    with stand_ins(place / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source, place)
        ctx = rehearsal_context(work, parse_version(VERSION), s, options=Options(date=DAY))
        report = release(ctx, ConsoleReporter())
        assert s.mail is not None and s.mail.delivered == []
    return report, git(place / "remote.git", "show", f"v{VERSION}:CHANGELOG.md")


def released_as_configured(source: Path, place: Path) -> tuple[Report, str]:
    """The project's configuration, its remotes pointed at stand-ins; what CI and review say
    of the commit is said to the GitHub stand-in, as a rehearsal says it."""
    config = load_config(source)
    repository = config.github_repository
    with ExitStack() as stack:
        own = stack.enter_context(GitHubStandIn(repository=repository))
        s = stack.enter_context(
            stand_ins(place / "standins", given={"github": own}, without={"registry"})
        )
        work = clone_for_rehearsal(source, place)
        s.github.attach_git(place / "remote.git")
        checks = (*config.required_checks, config.prerelease_check)
        seed_green(s.github, work, base=config.main_branch, checks=checks)
        assert s.mail is not None
        remotes = {
            "github_api_url": s.github.url,
            "index_url": s.index.upload_url,
            "index_simple_url": s.index.simple_url,
        }
        credentials = Credentials(
            {
                "GITHUB_TOKEN": s.github.token,
                "TWINE_USERNAME": s.index.username,
                "TWINE_PASSWORD": s.index.password,
                "RELEASE_NOTIFY_WEBHOOKS": s.slack.url,
            }
        )
        options = Options(skip_image=True, date=DAY)
        ctx = open_release(
            work, parse_version(VERSION), overrides=remotes, options=options,
            credentials=credentials,
        )  # fmt: skip
        report = release(ctx, ConsoleReporter())
        assert s.mail.delivered == []
    return report, git(place / "remote.git", "show", f"v{VERSION}:CHANGELOG.md")


def test_a_rehearsal_writes_what_the_projects_own_configuration_writes(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    assert not load_config(source_repo).smtp_host  # the project sends no email: nor may these
    rehearsal, rehearsal_changelog = rehearsed(source_repo, tmp_path / "rehearsal")
    real, real_changelog = released_as_configured(source_repo, tmp_path / "configured")

    assert rehearsal_changelog == real_changelog
    project = "https://github.com/your-org/finbot"
    assert f"[{VERSION}]: {project}/releases/tag/v{VERSION}" in real_changelog
    assert rehearsal.release is not None and real.release is not None
    assert rehearsal.release.body == real.release.body != ""
    steps = [(o.name, o.status.value) for o in rehearsal.steps]
    assert steps == [(o.name, o.status.value) for o in real.steps]
    assert ("email", "skipped") in steps and ("notify", "acted") in steps
