"""Each source of the semver guard's evidence and its rule, made to fire on real inputs: griffe
on real packages, argparse parsers, FastAPI's OpenAPI documents, Alembic revision files,
fragments; and the evidence remembered by content."""

from __future__ import annotations

import argparse
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Query
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from release_engine.cli import add_fragment
from release_engine.context import Options
from release_engine.errors import UsageError
from release_engine.report import waived_checks
from release_engine.semver import api, cli, fragments, http, migrations
from release_engine.semver.evidence import Evidence, Finding, Payload, SourceUnread, gather
from release_engine.semver.guard import baseline
from release_engine.semver.rule import bump_between, judge, required, smallest
from release_engine.tools import changelog
from release_engine.version import Version, parse_version, versions_from_tags
from tests.conftest import REPO, git

PAYLOAD = Payload(src="", package="pkg", cli_module=None, fragments_dir="changelog.d")
BREAK = Finding("api", "break", "public object was removed: pkg.f", "pkg/__init__.py:1")
FEATURE = Finding("api", "feature", "pkg.g added", "pkg/__init__.py:2")


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# --- the rule ---


@pytest.mark.parametrize(
    ("findings", "base", "level", "allowed"),
    [
        ([], "0.4.2", "patch", "0.4.3"),
        ([FEATURE], "0.4.2", "minor", "0.5.0"),
        ([BREAK, FEATURE], "0.4.2", "minor", "0.5.0"),  # major_version_zero: minor below 1.0.0
        ([FEATURE], "1.4.2", "minor", "1.5.0"),
        ([BREAK], "1.4.2", "major", "2.0.0"),
    ],
)
def test_the_bump_the_evidence_needs(
    findings: list[Finding], base: str, level: str, allowed: str
) -> None:
    assert required(findings, parse_version(base)) == level
    assert smallest(parse_version(base), required(findings, parse_version(base))).pep440 == allowed


def test_a_larger_bump_is_allowed_and_a_pre_release_is_judged_by_its_core() -> None:
    evidence = Evidence("v1.4.2", "abc", [BREAK])
    base = parse_version("1.4.2")
    assert judge(evidence, base, parse_version("2.0.0")).refusals == []
    assert judge(evidence, base, parse_version("3.0.0")).refusals == []
    assert judge(evidence, base, parse_version("2.0.0rc1")).refusals == []
    refused = judge(evidence, base, parse_version("1.5.0rc1")).refusals
    assert refused == [
        "api: public object was removed: pkg.f (pkg/__init__.py:1) is a break since v1.4.2: "
        "1.5.0rc1 is too small, the smallest allowed version is 2.0.0 "
        "(or pass --allow-semver-break)"
    ]
    assert bump_between(base, parse_version("1.4.3")) == "patch"


def test_a_hotfix_carries_no_break_even_as_a_major() -> None:
    evidence = Evidence("v1.4.2", "abc", [BREAK])
    refused = judge(evidence, parse_version("1.4.2"), parse_version("1.4.3"), hotfix=True)
    assert (
        "a hotfix is a patch and carries no break; release it from main as 2.0.0"
        in (refused.refusals[0])
    )
    assert judge(Evidence("v1.4.2", "abc"), parse_version("1.4.2"), parse_version("1.4.3"),
                 hotfix=True).refusals == []  # fmt: skip


def test_refusals_are_one_line_each_and_counted_past_ten() -> None:
    many = [Finding("api", "break", f"removed f{n}", "pkg.py") for n in range(13)]
    lines = judge(Evidence("v0.1.0", "abc", many), Version(0, 1, 0), Version(0, 1, 1)).refusals
    assert len(lines) == 11 and lines[-1].startswith("… and 3 more")
    assert all("\n" not in line for line in lines)


def test_the_baseline_is_the_previous_final_release_not_rolled_back() -> None:
    tags = ["v0.1.0", "v0.2.0rc1", "v0.2.0rc2", "v0.2.0", "v0.3.0", "rollback-v0.3.0", "x"]
    assert baseline(tags, "v") == parse_version("0.2.0")
    assert baseline(tags, "v", parse_version("0.2.0")) == parse_version("0.1.0")  # rc promoted
    assert baseline(tags, "v", parse_version("0.2.0rc3")) == parse_version("0.1.0")
    assert baseline(tags, "v", parse_version("0.2.1")) == parse_version("0.2.0")  # a hotfix
    assert baseline([], "v") is None


#: Few numbers, so that tags, rollbacks and the version asked about meet often; one number of
#: 16 digits (above what the shortcut matches, still a version), and tags of no version.
_NUMBERS = st.sampled_from(["0", "1", "2", "1000000000000000"])
_SUFFIXES = ["", "rc1", "-beta.1", ".dev0", ".1"]  # the last two: no release version


def _versions(suffixes: list[str]) -> st.SearchStrategy[str]:
    parts = st.sampled_from(["0", "1"])
    return st.builds("{}.{}.{}{}".format, _NUMBERS, parts, parts, st.sampled_from(suffixes))


_VERSIONS = _versions(_SUFFIXES)
_TAGS = st.builds("{}{}{}".format, st.sampled_from(["", "rollback-"]),
                  st.sampled_from(["v", "", "x"]), _VERSIONS)  # fmt: skip


@given(st.lists(_TAGS, max_size=30), st.none() | _versions(_SUFFIXES[:3]))
@example(["v0.1.0", "v1.0.0", "v1.0.1"], "1.0.0")  # the version asked about is not below itself
@example(["v0.1.0", "v1.0.0", "rollback-v1.0.0"], None)  # nor a rolled-back one the baseline
@example(["v1000000000000000.0.0", "v1.0.0"], None)  # a 16-digit part: past the shortcut
def test_the_baseline_is_the_newest_stable_version_of_the_tags_below(
    tags: list[str], below: str | None
) -> None:
    """The baseline reads a thousand tags as numbers (stable_cores): the same answer as
    making every tag's Version and taking the newest stable one below, not rolled back."""
    gone = set(
        versions_from_tags(t.removeprefix("rollback-") for t in tags if t[:9] == "rollback-")
    )
    limit = None if below is None else parse_version(below)
    core = None if limit is None else Version(limit.major, limit.minor, limit.patch)
    stable = [
        v
        for v in versions_from_tags(tags)
        if not v.is_prerelease and v not in gone and (core is None or v < core)
    ]
    assert baseline(tags, "v", limit) == max(stable, default=None)


def test_the_waiver_is_reported_by_name() -> None:
    assert waived_checks(Options(allow_semver_break=True)) == ["semver"]


# --- Python API: griffe ---


def test_griffe_sees_a_removed_parameter_and_a_new_function(tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {"pkg/__init__.py": 'def f(a, b=1):\n    "F."\n'})
    new = tree(tmp_path / "new", {"pkg/__init__.py": 'def f(a):\n    "F."\ndef g():\n    "G."\n'})
    found = api.compare(old, new, PAYLOAD)
    assert found == [
        Finding("api", "break", "parameter was removed: pkg.f(b)", "pkg/__init__.py:1"),
        Finding("api", "feature", "pkg.g added", "pkg/__init__.py:3"),
    ]


def test_private_names_and_the_migrations_are_not_the_api(tmp_path: Path) -> None:
    old = tree(
        tmp_path / "old",
        {
            "pkg/__init__.py": "def _f():\n    pass\n",
            "pkg/migrations/versions/v1.py": "def upgrade():\n    pass\n",
        },
    )
    new = tree(tmp_path / "new", {"pkg/__init__.py": "", "pkg/migrations/__init__.py": ""})
    assert api.compare(old, new, PAYLOAD) == []  # fmt: skip


# --- CLI: the parser's own structures ---


def surface(parser: argparse.ArgumentParser) -> Any:
    scope: dict[str, Any] = {"module": SimpleNamespace(build_parser=lambda: parser)}
    exec(cli.QUESTION, scope)
    return scope["answer"]


def parser(*, extra: bool = False, required_name: bool = False) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="tool")
    commands = top.add_subparsers(dest="command")
    run = commands.add_parser("run")
    run.add_argument("--fast", action="store_true")
    if extra:
        run.add_argument("--slow", action="store_true")
    if required_name:
        run.add_argument("name")
    return top


def test_the_cli_sees_options_and_arguments() -> None:
    where = "src/pkg/cli.py"
    before = surface(parser())
    assert cli.diff(before, surface(parser(extra=True)), where) == [
        Finding("cli", "feature", "option --slow of 'run' added", where)
    ]
    assert cli.diff(surface(parser(extra=True)), before, where) == [
        Finding("cli", "break", "option --slow of 'run' removed or renamed", where)
    ]
    assert cli.diff(before, surface(parser(required_name=True)), where) == [
        Finding("cli", "break", "'run' requires a new argument name", where)
    ]
    assert cli.diff(before, None, where)[0].what == "the command line was removed"


# --- HTTP API: FastAPI's OpenAPI documents ---


class Bar(BaseModel):
    symbol: str
    close: float


class Slim(BaseModel):
    symbol: str


def app(*, slim: bool = False, required_limit: bool = False, more: bool = False) -> Any:
    made = FastAPI()
    model: Any = Slim if slim else Bar

    if required_limit:

        @made.get("/bars", response_model=list[model])
        def bars_limited(limit: int = Query()) -> list[Any]:
            return []
    else:

        @made.get("/bars", response_model=list[model])
        def bars() -> list[Any]:
            return []

    if more:

        @made.get("/health")
        def health() -> dict[str, str]:
            return {}

    return made.openapi()


def test_the_openapi_document_shows_breaks_and_features() -> None:
    where = "src/pkg/api.py"
    assert http.diff(app(), app(more=True), where) == [
        Finding("http", "feature", "GET /health added", where)
    ]
    assert http.diff(app(more=True), app(), where) == [
        Finding("http", "break", "GET /health removed", where)
    ]
    assert http.diff(app(), app(required_limit=True), where) == [
        Finding("http", "break", "GET /bars requires a new query limit", where)
    ]
    assert http.diff(app(), app(slim=True), where) == [
        Finding("http", "break", "GET /bars no longer returns the field 'close'", where)
    ]


# --- migrations: the revision files' AST ---

REVISION = """\
revision = "{rev}"
down_revision = "0001"
from alembic import op


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
"""


@pytest.mark.parametrize(
    ("upgrade", "downgrade", "found"),
    [
        ('op.add_column("bars", sa.Column("x"))', 'op.drop_column("bars", "x")', []),
        ('op.drop_table("bars")', 'op.create_table("bars")', ["revision 0002 drops table bars"]),
        ('op.rename_table("a", "b")', 'op.rename_table("b", "a")',
         ["revision 0002 renames table a.b"]),
        ('op.alter_column("bars", "ts", new_column_name="at")', "op.alter_column('bars', 'at')",
         ["revision 0002 renames column bars.ts"]),
        ('op.execute("ALTER TABLE bars DROP COLUMN x")', "pass",
         ["revision 0002 runs 'ALTER TABLE bars DROP COLUMN x'",
          "revision 0002 has a downgrade() that does nothing"]),
        ('op.add_column("bars", sa.Column("x"))', "raise NotImplementedError",
         ["revision 0002 has a downgrade() that raises"]),
    ],
)  # fmt: skip
def test_a_new_revision_that_drops_renames_or_cannot_go_down_is_a_break(
    tmp_path: Path, upgrade: str, downgrade: str, found: list[str]
) -> None:
    versions = "pkg/migrations/versions"
    first = REVISION.format(rev="0001", upgrade='op.drop_table("old")', downgrade="pass")
    old = tree(tmp_path / "old", {f"{versions}/v1.py": first})
    second = REVISION.format(rev="0002", upgrade=upgrade, downgrade=downgrade)
    new = tree(tmp_path / "new", {f"{versions}/v1.py": first, f"{versions}/v2.py": second})
    seen = migrations.compare(old, new, PAYLOAD)
    assert [f.what for f in seen] == found  # the released revision 0001 is not judged again
    assert all(f.kind == "break" and f.where.startswith(f"{versions}/v2.py") for f in seen)


def test_a_revision_file_that_does_not_parse_is_unread(tmp_path: Path) -> None:
    old = tree(tmp_path / "old", {})
    new = tree(tmp_path / "new", {"pkg/migrations/versions/v2.py": "def upgrade(:\n"})
    with pytest.raises(SourceUnread, match=r"v2\.py of new does not parse"):
        migrations.compare(old, new, PAYLOAD)


# --- fragments ---


def test_fragments_removed_and_breaking_are_breaks_added_and_deprecated_features(
    tmp_path: Path,
) -> None:
    old = tree(tmp_path / "old", {"changelog.d/+kept.added.md": "Added before."})
    new = tree(tmp_path / "new", {
        "changelog.d/+kept.added.md": "Added before.",  # there at the release: not counted
        "changelog.d/+a.removed.md": "Removed the old API.",
        "changelog.d/+b.changed.md": "BREAKING: Changed the database URL variable.",
        "changelog.d/+c.changed.md": "Changed the log format.",
        "changelog.d/+d.added.md": "Added a new command.",
        "changelog.d/+e.deprecated.md": "Deprecated the old flag.",
        "changelog.d/+f.fixed.md": "Fixed a crash.",
        "changelog.d/README.md": "Not a fragment.",
    })  # fmt: skip
    found = [(f.kind, f.where) for f in fragments.compare(old, new, PAYLOAD)]
    assert found == [
        ("break", "changelog.d/+a.removed.md"),
        ("break", "changelog.d/+b.changed.md"),
        ("feature", "changelog.d/+d.added.md"),
        ("feature", "changelog.d/+e.deprecated.md"),
    ]


def test_changelog_add_breaking_marks_a_changed_fragment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    path = changelog.add_fragment(
        tmp_path, "changed", "Changed the default port to 8080.", breaking=True
    )
    assert path.read_text() == "BREAKING: Changed the default port to 8080.\n"
    assert fragments.is_breaking(path.read_text())
    assert changelog.wording_problem(path.read_text()) is None  # the mark, then the sentence
    assert changelog.wording_problem("BREAKING: the port") is not None
    with pytest.raises(UsageError, match="--breaking marks a changed fragment"):
        changelog.add_fragment(tmp_path, "fixed", "Fixed a crash in ingest.", breaking=True)
    # inv changelog.add --breaking: a changed fragment when no --type is given
    made = add_fragment(tmp_path, None, "Changed the log format to JSON.", None, breaking=True)
    assert made.name.endswith(".changed.md")
    assert made.read_text() == "BREAKING: Changed the log format to JSON.\n"


# --- the evidence, gathered once per content ---


def test_the_evidence_is_remembered_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tree(tmp_path / "repo", {
        "pyproject.toml": '[project]\nname = "pkg"\n',
        "pkg/__init__.py": '__all__ = ["f"]\n\n\ndef f(a):\n    "F."\n',
    })  # fmt: skip
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=T", "commit", "-qm", "1", "--allow-empty")
    git(repo, "add", "--all")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=T", "commit", "-qm", "2")
    git(repo, "tag", "v1.0.0")
    (repo / "pkg/__init__.py").write_text('__all__ = ["f"]\n\n\ndef f():\n    "F."\n')
    git(repo, "-c", "user.email=t@t", "-c", "user.name=T", "commit", "-qam", "3")
    first = gather(repo, "v1.0.0", "HEAD")
    assert not first.cached and first.unread == []
    assert [f.what for f in first.breaks] == ["parameter was removed: pkg.f(a)"]
    again = gather(repo, "v1.0.0", "HEAD")
    assert again.cached and again.findings == first.findings
    # The same content under another commit is the same answer.
    git(repo, "-c", "user.email=t@t", "-c", "user.name=T", "commit", "-qm", "4", "--allow-empty")
    assert gather(repo, "v1.0.0", "HEAD").cached
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                          text=True).stdout == ""  # fmt: skip
