"""Each pre-release session fails, saying why, when the one thing it checks is broken.

A guard without a test that makes it fire is a bug: every test here copies the repository,
breaks one thing and runs the real session (``nox -s X``) on the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from release_engine.context import Options
from release_engine.engine import release
from release_engine.output import ConsoleReporter
from release_engine.prerelease.matrix import green_run_for
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes.index import served_files as index_files
from release_engine.remotes.registry.container import detect_engine
from release_engine.version import parse_version
from tests.prerelease.nox_copies import Copy

pytestmark = pytest.mark.e2e

MIGRATIONS = "src/market_data_ingestion/migrations/versions"


def head_migration(copy: Copy) -> tuple[Path, str]:
    """The newest migration script of the copy and its revision id."""
    revisions: dict[str, tuple[Path, str | None]] = {}
    for path in (copy.path / MIGRATIONS).glob("*.py"):
        text = path.read_text()
        rev = re.search(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)", text, re.M)
        down = re.search(r"^down_revision(?::[^=]*)?=\s*['\"]([^'\"]+)", text, re.M)
        if rev:
            revisions[rev.group(1)] = (path, down.group(1) if down else None)
    downs = {down for _, down in revisions.values()}
    (head,) = [rev for rev in revisions if rev not in downs]
    return revisions[head][0], head


def test_missing_wheel_says_to_build_first(repo_copy: Copy) -> None:
    repo_copy.nox("-s", "cli").failed_with("run `nox -s build` first")


def test_missing_interpreter_fails(repo_copy: Copy) -> None:
    repo_copy.nox("-s", "lint", "--force-python", "3.99").failed_with("3.99", "not found")


def test_migration_that_cannot_downgrade_fails_migrations(repo_copy: Copy) -> None:
    script, head = head_migration(repo_copy)
    repo_copy.replace(str(script.relative_to(repo_copy.path)), "def downgrade(", "def _kept(")
    repo_copy.append(
        str(script.relative_to(repo_copy.path)),
        '\n\ndef downgrade() -> None:\n    raise RuntimeError("this migration cannot be undone")\n',
    )
    repo_copy.build_wheel()
    ran = repo_copy.nox("-s", "migrations", "--", "-k", "sqlite")
    ran.failed_with(f"downgrade {head} -> ", "failed", "this migration cannot be undone")


def test_a_broken_link_between_the_docs_pages_fails_docs(repo_copy: Copy) -> None:
    repo_copy.append("docs/index.md", "\nSee [the walk-through](RELEASING.md#no-such-section).\n")
    ran = repo_copy.nox("-s", "docs")
    ran.failed_with("RELEASING.md#no-such-section", "does not contain an anchor")


def test_ci_without_postgresql_fails_migrations(repo_copy: Copy) -> None:
    repo_copy.build_wheel()
    no_database = {"CI": "true", "MDI_TEST_POSTGRES_URL": ""}  # set empty: no PostgreSQL
    ran = repo_copy.nox("-s", "migrations", "--", "-k", "postgresql", env=no_database)
    ran.failed_with("CI is set and MDI_TEST_POSTGRES_URL is not set")


def test_the_migrations_session_tests_the_bootstrap_database_by_default(repo_copy: Copy) -> None:
    """README's test command, typed by hand after scripts/bootstrap (no variable set, not CI),
    tests PostgreSQL as CI does: the session names the database bootstrap made."""
    repo_copy.build_wheel()
    ran = repo_copy.nox("-s", "migrations", "--", "-k", "postgresql", "-rs")
    ran.passed()
    assert "skipped" not in ran.output and "passed" in ran.output, ran


def test_endpoint_answering_500_fails_api(repo_copy: Copy) -> None:
    repo_copy.append(
        "src/market_data_ingestion/api.py",
        """

_working_create_app = create_app


def create_app(*args: Any, **kwargs: Any) -> FastAPI:  # broken on purpose by a meta-test
    broken = _working_create_app(*args, **kwargs)

    @broken.middleware("http")
    async def answer_500(request: Any, call_next: Any) -> Any:
        if request.url.path == "/symbols":
            raise RuntimeError("broken on purpose")
        return await call_next(request)

    return broken


app = create_app()
""",
    )
    repo_copy.build_wheel()
    repo_copy.nox("-s", "api", "--", "-x").failed_with("GET /symbols answered 500")


def test_cli_command_that_crashes_fails_cli(repo_copy: Copy) -> None:
    repo_copy.append(
        "src/market_data_ingestion/cli.py",
        """

_working_main = main


def main(argv: list[str] | None = None) -> int:  # broken on purpose by a meta-test
    if (sys.argv[1:] if argv is None else argv)[:1] == ["symbols"]:
        raise RuntimeError("symbols crashed on purpose")
    return _working_main(argv)
""",
    )
    repo_copy.build_wheel()
    repo_copy.nox("-s", "cli", "--", "-x").failed_with(
        "the command crashed", "symbols crashed on purpose"
    )


def test_dockerfile_that_does_not_build_fails_image(repo_copy: Copy) -> None:
    if detect_engine() is None and not os.environ.get("CI"):
        pytest.skip("no container engine: run scripts/container-env as root")
    repo_copy.replace(
        "Dockerfile",
        "FROM ${BASE_IMAGE}\n",
        "FROM ${BASE_IMAGE}\nRUN echo broken on purpose && exit 3\n",
    )
    repo_copy.build_wheel()
    repo_copy.nox("-s", "image").failed_with("the image did not build from Dockerfile")


def test_ci_without_container_engine_fails_image(repo_copy: Copy, tmp_path: Path) -> None:
    bare = tmp_path / "bin"  # a PATH with git and nothing that runs containers
    bare.mkdir()
    (bare / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    ran = repo_copy.nox("-s", "image", env={"CI": "true", "PATH": str(bare)})
    ran.failed_with("no container engine", "scripts/container-env")


def test_unknown_fragment_type_fails_fragments(repo_copy: Copy) -> None:
    (repo_copy.path / "changelog.d" / "123.feature.md").write_text("Added a thing.\n")
    repo_copy.nox("-s", "fragments").failed_with(
        "changelog.d/123.feature.md: unknown fragment type 'feature'; valid types: "
        "added, changed, deprecated, removed, fixed, security"
    )


def test_branch_without_a_fragment_fails_fragments(repo_copy: Copy) -> None:
    repo_copy.run("git", "checkout", "-qb", "feature")
    repo_copy.append("src/market_data_ingestion/config.py", "\n# a user-visible change\n")
    repo_copy.run("git", "commit", "-qam", "Change without a fragment")
    repo_copy.nox("-s", "fragments").failed_with("files changed since main", "inv changelog.add")
    (repo_copy.path / "changelog.d" / "42.fixed.md").write_text("Fixed a thing.\n")
    repo_copy.run("git", "add", "changelog.d")
    repo_copy.run("git", "commit", "-qm", "Add its fragment")
    repo_copy.nox("-s", "fragments").passed()


def test_first_release_passes_only_when_allowed(repo_copy: Copy) -> None:
    repo_copy.nox("-s", "upgrade").failed_with(
        "no release is tagged before", "--allow-first-release"
    )
    repo_copy.nox("-s", "upgrade", "--", "--allow-first-release").passed()


def test_upgrade_from_previous_release_on_an_index(repo_copy: Copy, tmp_path: Path) -> None:
    """1.0.0 released for real through the rehearsal stand-ins; then 1.1.0, with a new
    migration and a fragment, is checked against the 1.0.0 the package index serves."""
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(repo_copy.path, tmp_path / "release")
        ctx = rehearsal_context(work, parse_version("1.0.0"), s, options=Options(skip_image=True))
        release(ctx, ConsoleReporter())
        served = index_files(s.index.simple_url, "market-data-ingestion")
        assert "market_data_ingestion-1.0.0-py3-none-any.whl" in served
        # The released main (version files, changelog, tag) comes back into the copy.
        repo_copy.run(
            "git",
            "pull",
            "-q",
            "--ff-only",
            "--tags",
            str(tmp_path / "release" / "remote.git"),
            "main",
        )
        assert repo_copy.run("git", "tag", "--list").split() == ["v1.0.0"]
        repo_copy.bump("1.1.0")
        script, head = head_migration(repo_copy)
        (script.parent / "v9999_add_instrument_exchange.py").write_text(
            NEW_MIGRATION.replace("@HEAD@", head)
        )
        (repo_copy.path / "changelog.d" / "+exchange.added.md").write_text(
            "Added the exchange of each instrument.\n"
        )
        repo_copy.build_wheel()
        ran = repo_copy.nox("-s", "upgrade", "--", "--index-url", s.index.simple_url)
    ran.passed()
    assert f"upgrade 1.0.0 -> 1.1.0: database revision {head} -> 9999;" in ran.output, ran
    # The session's folder is `upgrade`, or a hash of its name where that path would be long
    # (nox shortens it: a checkout under a long path, as bench/run.py's `ci` row clones).
    (database,) = repo_copy.envdir.glob("*/tmp/upgrade/upgrade.sqlite3")
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999",)]
        columns = {row[1] for row in db.execute("PRAGMA table_info(instruments)")}
        bars = db.execute("SELECT count(*) FROM bars").fetchone()[0]
    assert "exchange" in columns
    assert bars > 0 and f" {bars} bars of " in ran.output


def test_upgrade_from_the_previous_tag(repo_copy: Copy) -> None:
    repo_copy.bump("1.0.0")
    repo_copy.run("git", "commit", "-qam", "Release v1.0.0")
    repo_copy.run("git", "tag", "-a", "v1.0.0", "-m", "Release version 1.0.0")
    repo_copy.bump("1.1.0")
    script, head = head_migration(repo_copy)
    (script.parent / "v9999_add_instrument_exchange.py").write_text(
        NEW_MIGRATION.replace("@HEAD@", head)
    )
    repo_copy.build_wheel()
    ran = repo_copy.nox("-s", "upgrade")
    ran.passed()
    assert "upgrading from 1.0.0 (built from its git tag)" in ran.output, ran
    assert f"upgrade 1.0.0 -> 1.1.0: database revision {head} -> 9999;" in ran.output, ran


NEW_MIGRATION = '''"""Add an exchange column to instruments (a meta-test's release 1.1.0).

Revision ID: 9999
Revises: @HEAD@
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "@HEAD@"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("exchange", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("exchange")
'''


def test_prerelease_summary_and_green_run(repo_copy: Copy) -> None:
    """`nox -s prerelease` on a checklist cut down to two quick sessions, in a real copy: one
    of them marked as using every core, so the other runs beside it (two lanes)."""
    noxfile = repo_copy.path / "noxfile.py"
    text = noxfile.read_text().replace("tags=[CHECKLIST", 'tags=["checklist"')
    quick = [('CHECKLIST = "checklist"', 'CHECKLIST = "quick"')]  # what prerelease runs
    quick.append(('EVERY_CORE = "every-core"', 'EVERY_CORE = "quick-every-core"'))
    for name, tags in (("upgrade", '"quick"'), ("fragments", '"quick", "quick-every-core"')):
        session = f'@nox.session(python=PYTHON, tags=["checklist"])\n@_session\ndef {name}('
        quick.append((session, session.replace('"checklist"', f'"checklist", {tags}')))
    for old, new in quick:
        assert old in text, f"noxfile.py no longer holds {old!r}: update this meta-test"
        text = text.replace(old, new, 1)
    noxfile.write_text(text)
    repo_copy.run("git", "commit", "-qam", "a quick checklist")
    sha = repo_copy.run("git", "rev-parse", "HEAD").strip()

    ran = repo_copy.nox("-s", "prerelease", "--", "--lanes", "2")  # two lanes on any machine
    ran.passed()
    rows = [line.split()[:2] for line in ran.output.splitlines() if line.startswith(("upg", "fra"))]
    assert ["upgrade", "success"] in rows and ["fragments", "success"] in rows, ran
    assert "passing: --allow-first-release" in ran.output  # no earlier tag: said plainly
    assert "nox > upgrade ran beside: success in " in ran.output  # two lanes
    assert "of wall-clock time (two lanes)" in ran.output
    assert f"green run recorded: .release/prerelease/{sha}.json" in ran.output, ran
    assert green_run_for(repo_copy.path, sha)

    (repo_copy.path / ".release" / "prerelease" / f"{sha}.json").unlink()
    (repo_copy.path / "changelog.d" / "1.feature.md").write_text("Added a thing.\n")
    ran = repo_copy.nox("-s", "prerelease")
    ran.failed_with("1 session(s) failed: fragments", "no green run recorded")
    assert not green_run_for(repo_copy.path, sha)
