"""The engine reads everything from config: it releases a legacy setup.py project too."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from release_engine.context import Options
from release_engine.engine import release
from release_engine.output import ConsoleReporter
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes import index
from release_engine.version import parse_version
from tests.conftest import git

pytestmark = pytest.mark.e2e

FILES = {
    "setup.py": """\
        from setuptools import setup

        setup(
            name="legacy-quotes",
            version="2.4.1",
            packages=["legacy_quotes"],
            long_description="Quotes, the old way.",
            long_description_content_type="text/markdown",
        )
        """,
    "legacy_quotes/__init__.py": 'VERSION = "2.4.1"\n',
    "pyproject.toml": """\
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"

        [tool.bumpversion]
        current_version = "2.4.1"
        commit = false
        tag = false

        [[tool.bumpversion.files]]
        filename = "setup.py"
        search = 'version="{current_version}"'
        replace = 'version="{new_version}"'

        [[tool.bumpversion.files]]
        filename = "legacy_quotes/__init__.py"

        [tool.towncrier]
        directory = "news"
        filename = "HISTORY.md"
        title_format = "## [{version}] - {project_date}"
        start_string = "<!-- releases -->\\n"

        [[tool.towncrier.type]]
        directory = "fixed"
        name = "Fixed"
        showcontent = true

        [tool.release]
        package = "legacy-quotes"
        tag_prefix = "release-"
        image = ""
        """,
    "HISTORY.md": "# History\n\n<!-- releases -->\n",
    "news/+quotes.fixed.md": "Fixed rounding of quotes.\n",
    "news/.gitignore": "!.gitignore\n",
}


def test_a_setup_py_project_with_another_name_and_tag_prefix(
    tmp_path: Path, clean_env: None
) -> None:
    source = tmp_path / "legacy"
    for name, text in FILES.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git(source, "init", "-q", "-b", "main")
    git(source, "-c", "user.email=t@localhost", "-c", "user.name=T", "add", "--all")
    git(source, "-c", "user.email=t@localhost", "-c", "user.name=T", "commit", "-qm", "init")

    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source, tmp_path)
        ctx = rehearsal_context(work, parse_version("2.5.0"), s, options=Options())
        report = release(ctx, ConsoleReporter())
        served = index.served_files(s.index.simple_url, "legacy-quotes")

    remote = tmp_path / "remote.git"
    assert (
        git(remote, "tag", "-l", "--format=%(contents:subject)", "release-2.5.0")
        == "Release version 2.5.0"
    )
    assert 'version="2.5.0"' in git(remote, "show", "main:setup.py")
    assert 'VERSION = "2.5.0"' in git(remote, "show", "main:legacy_quotes/__init__.py")
    assert "## [2.5.0]" in git(remote, "show", "main:HISTORY.md")
    assert sorted(served) == ["legacy_quotes-2.5.0-py3-none-any.whl", "legacy_quotes-2.5.0.tar.gz"]
    assert {a.filename: a.sha256 for a in report.artifacts} == served
    statuses = {o.name: o.status for o in report.steps}
    assert statuses["image"] == statuses["image-push"] == "skipped"
    assert report.release is not None
    assert report.release.body.strip() == "### Fixed\n\n- Fixed rounding of quotes."
