"""A dry run is the run: the same release's dry run and real run, traced, compared line by line.

Each case copies the work clone into a twin (same remote, same stand-ins), dry-runs the twin and
then really runs the work clone, each inside :func:`release_engine.trace.tracing`: the real
run's trace holds every action it performed and every write made outside one (the lock, the
records, each upload, each checkout), the dry run's every action it printed. They must be the
same list, in the same order: a value only the run can know (a commit, a time, a built file's
name) is a ``<placeholder>`` in the dry run and matches whatever the run put there. The clone's
path, shell quoting and file descriptor numbers are put aside.

One world for the three cases (a release, a hotfix with its forward merge, a rollback), with
no registry: the image steps are compared by the unit tests of their actions.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, cast

import pytest

from release_engine import trace
from release_engine.cli import hotfix_command
from release_engine.context import Options
from release_engine.engine import release, rollback
from release_engine.output import ConsoleReporter
from release_engine.plan import Call, perform
from release_engine.proc import Command, run
from release_engine.rehearsal import rehearsal_context
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import AFTER, HOTFIX, VERSION, Rehearsal, configure_mail

pytestmark = pytest.mark.e2e

PLACEHOLDER = re.compile(r"<[^<>]+>")
PROJECT = "https://github.com/your-org/finbot"


def _plain(line: str, clone: Path) -> str:
    line = line.replace(str(clone), "<the clone>").replace("'", "")
    return re.sub(r"/dev/fd/\d+", "/dev/fd/N", line)


def _matches(shown: str, ran: str) -> bool:
    """*ran* is *shown*, each placeholder of *shown* standing for any value."""
    literal = [re.escape(part) for part in PLACEHOLDER.split(shown)]
    return re.fullmatch(".+?".join(literal), ran, flags=re.DOTALL) is not None


def assert_same(dry: list[str], dry_clone: Path, real: list[str], real_clone: Path) -> None:
    shown = [_plain(line, dry_clone) for line in dry]
    ran = [_plain(line, real_clone) for line in real]
    # Where a line matches, the run's is shown as the dry run's: the diff is what differs.
    ran = [shown[i] if i < len(shown) and _matches(shown[i], r) else r for i, r in enumerate(ran)]
    assert ran == shown


def twin_of(r: Rehearsal, name: str) -> Path:
    """A copy of the work clone: the same remote, the same branch, the same state."""
    twin = r.work.parent / name
    shutil.copytree(r.work, twin, symlinks=True)
    return twin


def release_twice(r: Rehearsal, version: str, name: str) -> None:
    twin = twin_of(r, name)
    options = Options(date=r.date)
    with trace.tracing() as dry:
        ctx = rehearsal_context(twin, parse_version(version), r.s, options=options)
        release(ctx, ConsoleReporter(), dry_run=True)
    with trace.tracing() as real:
        ctx = rehearsal_context(r.work, parse_version(version), r.s, options=options)
        release(ctx, ConsoleReporter())
    assert_same(dry, twin, real, r.work)
    uploads = [line.rsplit("/", 1)[1] for line in real if " twine " in line and " upload " in line]
    assert [name.endswith(".tar.gz") for name in uploads] == [True, False]  # as shown: sdist first


def test_the_dry_run_lists_every_write_the_run_makes(imageless_rehearsal: Rehearsal) -> None:
    r = imageless_rehearsal
    configure_mail(r)  # the email's records too
    release_twice(r, VERSION, "twin-release")
    assert r.s.mail is not None and len(r.s.mail.delivered) == 1

    hotfix_command(r.work, f"v{VERSION}")
    (r.work / "changelog.d" / "+hot.fixed.md").write_text("Fixed a critical bug.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", "Fix a critical bug")
    release_twice(r, HOTFIX, "twin-hotfix")
    # The forward merge wrote main's links into the project's repository, not the stand-in's.
    changelog = git(r.remote, "show", "main:CHANGELOG.md")
    assert f"[{HOTFIX}]: {PROJECT}/compare/" in changelog
    assert r.s.github.repository not in changelog

    git(r.work, "checkout", "-q", "main")
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    r.add_fragment("+after.fixed.md", "Fixed the next thing.")  # no news: no docs needed
    r.run(AFTER)

    twin = twin_of(r, "twin-rollback")
    resume = f"inv rollback --version {AFTER}"
    with trace.tracing() as dry:
        ctx = rehearsal_context(twin, parse_version(AFTER), r.s)
        ctx.resume_command = resume
        rollback(ctx, ConsoleReporter(), dry_run=True)
    with trace.tracing() as real:
        ctx = rehearsal_context(r.work, parse_version(AFTER), r.s)
        ctx.resume_command = resume
        rollback(ctx, ConsoleReporter())
    assert_same(dry, twin, real, r.work)
    assert any(f"rollback-v{AFTER}" in line for line in real)
    changelog = git(r.remote, "show", "main:CHANGELOG.md")
    assert f"[{AFTER}]: {PROJECT}/compare/" in changelog and "[YANKED]" in changelog
    assert r.s.github.repository not in changelog


def test_placeholders_stand_for_the_values_only_the_run_knows() -> None:
    shown = "SOURCE_DATE_EPOCH=<commit time of v1.0.0> python -m build --outdir dist"
    assert _matches(shown, "SOURCE_DATE_EPOCH=1733500000 python -m build --outdir dist")
    assert not _matches(shown, "SOURCE_DATE_EPOCH=1733500000 python -m build --outdir elsewhere")
    assert not _matches("git push origin main", "git push origin main release/v1.0.0")
    with pytest.raises(AssertionError):
        assert_same(["git checkout --quiet main"], Path("/a"), [], Path("/b"))
    assert_same(["twine upload /a/<the wheel>"], Path("/a"), ["twine upload /b/x.whl"], Path("/b"))


def test_a_write_no_action_names_is_traced_on_its_own_line(tmp_path: Path) -> None:
    """The commands an action runs belong to it; any other write shows, so none can hide."""
    inside, outside = tmp_path / "inside", tmp_path / "outside"

    def two_writes() -> None:
        run(["touch", str(inside)])
        perform(Command.of("touch", inside), cast(Any, None))  # an action inside: part of it

    with trace.tracing() as found:
        perform(Call("touch the inside file", two_writes), cast(Any, None))
        run(["touch", str(outside)])
    assert found == ["touch the inside file", f"touch {outside}"]
    run(["touch", str(outside)])  # nobody listens: nothing is kept
    assert found == ["touch the inside file", f"touch {outside}"]
