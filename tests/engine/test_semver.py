"""The semver guard on a released baseline: each kind of break refused as a patch, before
anything changes, naming the break; accepted as the bump it needs; a bug fix accepted as a
patch; ``release.status`` suggesting the right version each time.

The baseline is this repository, copied and committed as the release of the project's current
version: its fragments consumed, its tag annotated as a release makes it. Each test clones it,
makes one change on main, pushes it, and asks the guard (the evidence, the preflight, the
cadence) the way a release would.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from release_engine import cadence
from release_engine.cadence import next_version
from release_engine.config import Credentials, load_config
from release_engine.context import Options, ReleaseContext
from release_engine.engine import open_release
from release_engine.errors import PreflightError
from release_engine.preflight import preflight
from release_engine.rehearsal import clone_for_rehearsal
from release_engine.remotes.github.release import release_body
from release_engine.semver import check, waiver_note
from release_engine.version import parse_version
from tests.conftest import NOT_FRAGMENTS, REPO, git, make_repo
from tests.engine.test_preflight import LOCAL_ONLY  # the one local-only configuration

SKIPS = Options(skip_prerelease=True, skip_docs=True)  # the semver guard alone is judged
CURRENT = parse_version(load_config(REPO).current_version).release
PATCH = next_version(CURRENT, "patch").pep440
BREAKING = next_version(CURRENT, "major" if CURRENT.major >= 1 else "minor").pep440
SCHEMA = json.loads((REPO / "docs" / "release-report.schema.json").read_text())
PKG = "src/market_data_ingestion"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository released as its current version: fragments consumed, tag made."""
    repo = make_repo(tmp_path_factory.mktemp("semver") / "repo")
    fragments = [
        str(f.relative_to(repo))
        for f in (repo / "changelog.d").iterdir()
        if f.is_file() and f.name not in NOT_FRAGMENTS
    ]
    git(repo, "rm", "-q", *fragments)
    git(repo, "commit", "-qm", f"Release v{CURRENT}")
    git(repo, "tag", "-a", f"v{CURRENT}", "-m", f"Release version {CURRENT}")
    return repo


@pytest.fixture
def work(released: Path, tmp_path: Path, clean_env: None) -> Path:
    work = clone_for_rehearsal(released, tmp_path)
    git(work, "fetch", "-q", "--tags")
    return work


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def remove_function(work: Path) -> None:
    sample = work / PKG / "sample.py"
    edit(sample, ', "sample_resource"]', "]")
    edit(sample, "def sample_resource()", "def _sample_resource()")
    edit(sample, "as_file(sample_resource())", "as_file(_sample_resource())")
    fragment(work, "+sample.fixed.md", "Fixed the sample's lookup.")


def remove_route(work: Path) -> None:
    edit(work / PKG / "api.py", '    @app.get("/version")\n', "")
    fragment(work, "+version.fixed.md", "Fixed the version endpoint.")


def drop_column(work: Path) -> None:
    (work / PKG / "migrations" / "versions" / "v0099_drop_bar_source.py").write_text(
        '"""Drop bars.source."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0099"\ndown_revision = "0002"\n\n\n'
        "def upgrade() -> None:\n"
        '    with op.batch_alter_table("bars") as batch:\n'
        '        batch.drop_column("source")\n\n\n'
        "def downgrade() -> None:\n"
        '    with op.batch_alter_table("bars") as batch:\n'
        '        batch.add_column(sa.Column("source", sa.String(255), nullable=True))\n'
    )
    fragment(work, "+source.fixed.md", "Fixed the size of the bars table.")


def rename_command(work: Path) -> None:
    edit(work / PKG / "cli.py", 'add_parser("sample-path"', 'add_parser("sample-file"')
    fragment(work, "+sample-file.changed.md", "Changed the name of the sample command.")


def removed_fragment(work: Path) -> None:
    fragment(work, "+old-format.removed.md", "Removed the old CSV format.")


def bug_fix(work: Path) -> None:
    edit(work / PKG / "cli.py", '"give either PATH or --sample"', '"give PATH or --sample"')
    fragment(work, "+either.fixed.md", "Fixed the message of an ingest without a file.")


def fragment(work: Path, name: str, text: str) -> None:
    (work / "changelog.d" / name).write_text(text + "\n")


#: Each change, the source that must see it, and what the refusal names (what, where).
BREAKS: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    "a removed public function": (
        remove_function, "api", "market_data_ingestion.sample.sample_resource", f"{PKG}/sample.py"
    ),
    "a removed HTTP route": (remove_route, "http", "GET /version removed", f"{PKG}/api.py"),
    "a column-dropping migration": (
        drop_column, "migrations", "revision 0099 drops column source", "v0099_drop_bar_source.py"
    ),
    "a renamed CLI command": (
        rename_command, "cli", "command 'sample-path' removed or renamed", f"{PKG}/cli.py"
    ),
    "a removed fragment": (
        removed_fragment, "fragments", "Removed the old CSV format.", "+old-format.removed.md"
    ),
}  # fmt: skip


def commit(work: Path, change: Callable[[Path], None]) -> str:
    change(work)
    git(work, "add", "--all")
    git(work, "commit", "-qm", change.__name__)
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def open_local(work: Path, version: str, options: Options = SKIPS) -> ReleaseContext:
    return open_release(
        work,
        parse_version(version),
        overrides=LOCAL_ONLY,
        options=options,
        credentials=Credentials(),
    )


def refused(work: Path, version: str) -> list[str]:
    before = (git(work, "show-ref"), git(work, "status", "--porcelain"))
    with pytest.raises(PreflightError) as exc:
        preflight(open_local(work, version))
    assert exc.value.exit_code == 3
    assert (git(work, "show-ref"), git(work, "status", "--porcelain")) == before
    return exc.value.problems


def suggested(work: Path) -> cadence.Cadence:
    ctx = open_local(work, CURRENT.pep440)
    return cadence.observe(ctx)


@pytest.mark.parametrize("case", BREAKS)
def test_a_break_is_refused_as_a_patch_and_accepted_as_the_bump_it_needs(
    work: Path, case: str
) -> None:
    change, source, what, where = BREAKS[case]
    sha = commit(work, change)
    checked = check(work, "v", sha, parse_version(PATCH))
    assert checked is not None
    previous, evidence, verdict = checked
    assert previous == CURRENT and not evidence.unread
    assert [f.source for f in evidence.breaks] == [source], evidence.findings
    assert verdict.level == ("major" if CURRENT.major >= 1 else "minor")

    problems = refused(work, PATCH)
    assert len(problems) == 1, problems  # one line per break: this change's
    line = problems[0]
    assert "\n" not in line and what in line and where in line, line
    assert f"{PATCH} is too small, the smallest allowed version is {BREAKING}" in line

    notes = preflight(open_local(work, BREAKING))
    assert "semver: 1 break(s)" in " ".join(notes)
    seen = suggested(work)
    assert seen.suggested is not None and seen.suggested.pep440 == BREAKING
    assert seen.semver is not None and what in " ".join(seen.semver["why"])  # type: ignore[arg-type]


def test_a_pure_bug_fix_is_accepted_as_a_patch(work: Path) -> None:
    sha = commit(work, bug_fix)
    checked = check(work, "v", sha, parse_version(PATCH))
    assert checked is not None and checked[1].findings == [] and checked[2].refusals == []
    assert any(n.startswith("semver: 0 break(s), 0 feature(s)") for n in preflight(
        open_local(work, PATCH)))  # fmt: skip
    seen = suggested(work)
    assert seen.suggested is not None and seen.suggested.pep440 == PATCH


def test_the_waiver_lets_a_break_through_and_says_so(work: Path) -> None:
    commit(work, removed_fragment)
    options = Options(skip_prerelease=True, skip_docs=True, allow_semver_break=True)
    notes = preflight(open_local(work, PATCH, options))
    waived = "semver guard waived (--allow-semver-break): fragments: removed: Removed the old"
    assert any(n.startswith(waived) for n in notes), notes
    # What the GitHub release's body says under the CHANGELOG section.
    assert waiver_note(open_local(work, PATCH, options)) == (
        "Released with `--allow-semver-break`: the semver guard's refusal was waived; the "
        f"changes since v{CURRENT} call for {BREAKING} or higher, first: fragments: removed: "
        "Removed the old CSV format. (changelog.d/+old-format.removed.md)."
    )
    assert waiver_note(open_local(work, PATCH)) == ""
    # Once tagged, the GitHub release's body is the CHANGELOG section, then its footer: the
    # gates this run waived, and that line.
    changelog = work / "CHANGELOG.md"
    section = f"## [{PATCH}] - 2026-01-01\n\n### Removed\n\n- Removed the old CSV format.\n\n"
    changelog.write_text(changelog.read_text() + "\n" + section)
    git(work, "commit", "-qam", f"Release v{PATCH}")
    git(work, "tag", "-a", f"v{PATCH}", "-m", f"Release version {PATCH}")
    body = release_body(open_local(work, PATCH, options))
    assert body.startswith("### Removed\n\n- Removed the old CSV format.\n\n---\n\n")
    assert "waived: prerelease (--skip-prerelease).\n\nReleased with `--allow-semver-break`" in body
    assert body.endswith("(changelog.d/+old-format.removed.md).\n")


def test_nox_s_semver_runs_the_same_guard_on_head(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from release_engine.semver.__main__ import main

    monkeypatch.chdir(work)
    assert main([]) == 0
    assert capsys.readouterr().out == (
        f"semver: 0 break(s), 0 feature(s) since v{CURRENT}: the next release must be "
        f"{PATCH} or higher\n"
    )
    commit(work, rename_command)
    assert main([PATCH]) == 3
    error = capsys.readouterr().err
    assert error.startswith("error: preflight failed, nothing was changed: cli: command")
    assert f"the smallest allowed version is {BREAKING}" in error
    assert main([BREAKING]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"semver: 1 break(s), 1 feature(s) since v{CURRENT}: the next release must be "
        f"{BREAKING} or higher; {BREAKING} is allowed",
        f"  cli: command 'sample-path' removed or renamed ({PKG}/cli.py)",
        f"  cli: command 'sample-file' added ({PKG}/cli.py)",
    ]


def test_a_hotfix_carrying_a_feature_is_refused(work: Path) -> None:
    git(work, "checkout", "-q", "-b", f"hotfix/v{PATCH}", f"v{CURRENT}")
    fragment(work, "+new.added.md", "Added a new command.")
    git(work, "add", "--all")
    git(work, "commit", "-qm", "a feature")
    git(work, "push", "-q", "origin", f"hotfix/v{PATCH}")
    problems = refused(work, PATCH)
    assert problems == [
        "fragments: added: Added a new command. (changelog.d/+new.added.md) is a feature since "
        f"v{CURRENT}: a hotfix is a patch and carries no feature; release it from main as "
        f"{next_version(CURRENT, 'minor')} or higher (or pass --allow-semver-break)"
    ]


def test_inv_refuses_before_anything_changes_and_status_suggests(work: Path) -> None:
    """The real commands: the dry run exits 3 naming the break; status --json says why."""
    commit(work, remove_route)
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    flags = [f"--set={k}=" for k in LOCAL_ONLY]

    def inv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["inv", *args], cwd=work, capture_output=True, text=True,
                              env=env, timeout=600)  # fmt: skip

    ran = inv("release", "--version", PATCH, "--dry-run", "--skip-prerelease", *flags)
    assert ran.returncode == 3, ran.stderr
    assert ran.stderr.startswith("error: preflight failed, nothing was changed: http: GET")
    assert f"the smallest allowed version is {BREAKING}" in ran.stderr
    status = inv("release.status", "--json", *flags)
    data = json.loads(status.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["cadence"]["suggested_version"] == BREAKING
    assert data["cadence"]["semver"]["why"][0].startswith("http: GET /version removed")
