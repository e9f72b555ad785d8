"""``next_cycle = "dev"``: main moves to X.Y.(Z+1).dev0 after the release, once, through the
real bump-my-version; and a main at a development version releases like any other."""

from __future__ import annotations

import itertools
import json
import shlex
import tempfile
from pathlib import Path

import pytest

from release_engine import cadence
from release_engine.cli import hotfix_command, status_command
from release_engine.config import Credentials, ReleaseConfig, load_config
from release_engine.context import Options, ReleaseContext
from release_engine.engine import Report, open_release, release
from release_engine.errors import ConfigError, PreflightError, UsageError
from release_engine.output import ConsoleReporter
from release_engine.preflight import preflight
from release_engine.redact import Secrets
from release_engine.rehearsal import clone_for_rehearsal, rehearsal_context
from release_engine.tools.changelog import extract_section
from release_engine.version import (
    Version,
    next_development,
    parse_current_version,
    parse_version,
)
from tests.conftest import git, make_repo
from tests.engine.conftest import CURRENT, HOTFIX, VERSION, Rehearsal
from tests.engine.test_preflight import LOCAL_ONLY  # the one local-only configuration
from tests.engine.test_version_files import bump

DEV = next_development(parse_version(VERSION)).pep440  # main after releasing VERSION
NEXT = parse_current_version(DEV).release.pep440  # the release of that development version
INIT = "src/market_data_ingestion/__init__.py"


# --- version rules ------------------------------------------------------------------------
def test_a_development_version_is_a_current_version_never_a_release() -> None:
    dev = parse_current_version("0.3.1.dev0")
    assert (dev.pep440, dev.dev, dev.is_dev, dev.is_prerelease) == ("0.3.1.dev0", 0, True, True)
    assert dev.release == parse_version("0.3.1")
    assert parse_current_version("0.3.0") == parse_version("0.3.0")
    assert parse_current_version("1.3.0rc1") == parse_version("1.3.0rc1")
    with pytest.raises(UsageError) as exc:
        parse_version("0.3.1.dev0")
    assert "\n" not in str(exc.value) and "is not a release version" in str(exc.value)


@pytest.mark.parametrize("text", ["0.3.1dev0", "0.3.1.dev", "0.3.1rc1.dev0", "0.3.1-dev.0", "x"])
def test_a_malformed_current_version_is_one_config_line(text: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_current_version(text)
    assert "\n" not in str(exc.value) and "current_version" in str(exc.value)


def test_development_versions_sort_before_their_prereleases_and_releases() -> None:
    order = ["0.3.0", "0.3.1.dev0", "0.3.1.dev1", "0.3.1rc1", "0.3.1", "0.4.0.dev0", "0.4.0"]
    parsed = [parse_current_version(v) for v in order]
    assert sorted(reversed(parsed)) == parsed
    assert all(a < b for a, b in itertools.pairwise(parsed))


def test_next_development_is_the_next_patch_dev0() -> None:
    assert next_development(parse_version("0.3.0")).pep440 == "0.3.1.dev0"
    assert next_development(parse_version("2.0.9")) == Version(2, 0, 10, dev=0)


@pytest.mark.parametrize(
    ("bump", "expected"), [("patch", "0.3.1"), ("minor", "0.4.0"), ("major", "1.0.0")]
)
def test_cadence_suggests_from_a_development_version(bump: cadence.Bump, expected: str) -> None:
    assert cadence.next_version(parse_current_version("0.3.1.dev0"), bump).pep440 == expected


# --- config -------------------------------------------------------------------------------
def test_next_cycle_accepts_none_and_dev_and_names_both_otherwise(tmp_path: Path) -> None:
    config = ReleaseConfig("pkg", "0.1.0")
    assert config.with_overrides(next_cycle="dev").next_cycle == "dev"
    repo = make_repo(tmp_path / "repo")
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace("[tool.release]\n", '[tool.release]\nnext_cycle = "bogus"\n'))
    with pytest.raises(ConfigError) as exc:
        load_config(repo)
    message = str(exc.value)
    assert "\n" not in message
    assert "next_cycle = 'bogus'" in message and '"none"' in message and '"dev"' in message


# --- the version files, through the real bump-my-version ---------------------------------


def versions_in(repo: Path) -> dict[str, str]:
    """The version each version file names."""
    config = load_config(repo)
    return {
        "config": config.current_version,
        "project": next(
            ln.split('"')[1]
            for ln in (repo / "pyproject.toml").read_text().splitlines()
            if ln.startswith("version = ")
        ),
        "init": (repo / INIT).read_text().split('__version__ = "')[1].split('"')[0],
        "dockerfile": (repo / "Dockerfile").read_text().split("ARG VERSION=")[1].split()[0],
        "install": (repo / "docs/installation.md")
        .read_text()
        .split("market-data-ingestion==")[1]
        .split()[0],
    }


def at(version: str, install: str) -> dict[str, str]:
    return dict.fromkeys(("config", "project", "init", "dockerfile"), version) | {
        "install": install
    }


def test_bump_my_version_goes_to_and_from_development_versions(
    source_repo: Path, tmp_path: Path
) -> None:
    """The install command keeps naming the newest release while main is in development."""
    repo = make_repo(tmp_path / "repo", source_repo)
    steps = [
        (["dev_l", "--new-version", "0.3.1.dev0"], at("0.3.1.dev0", CURRENT)),
        (["--new-version", "0.3.1"], at("0.3.1", "0.3.1")),
        (["dev_l", "--new-version", "0.3.2.dev0"], at("0.3.2.dev0", "0.3.1")),
        (["--new-version", "0.4.0"], at("0.4.0", "0.4.0")),
        (["dev_l", "--new-version", "0.4.1.dev0"], at("0.4.1.dev0", "0.4.0")),
        (["--new-version", "0.5.0rc1"], at("0.5.0rc1", "0.5.0rc1")),
        (["--new-version", "0.5.0rc2"], at("0.5.0rc2", "0.5.0rc2")),
        (["--new-version", "0.5.0"], at("0.5.0", "0.5.0")),
        (["dev_l", "--new-version", "0.5.1.dev0"], at("0.5.1.dev0", "0.5.0")),
        (["--new-version", "0.5.1rc1"], at("0.5.1rc1", "0.5.1rc1")),
    ]
    for args, expected in steps:
        proc = bump(repo, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert versions_in(repo) == expected, args
    git(repo, "commit", "-qam", "bumped")
    for refused in ("0.6.0.post1", "0.6.0rc1.dev0", "0.6.0.dev"):
        assert bump(repo, "--new-version", refused).returncode != 0
        assert git(repo, "status", "--porcelain") == ""


# --- preflight, status and cadence on a main at a development version ---------------------
@pytest.fixture
def dev_work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    """A clone whose main carries DEV, pushed, with a change waiting."""
    work = clone_for_rehearsal(source_repo, tmp_path)
    assert bump(work, "dev_l", "--new-version", DEV).returncode == 0
    (work / "changelog.d" / "+pending.fixed.md").write_text("Fixed a pending thing.\n")
    git(work, "add", "--all")
    git(work, "commit", "-q", "-m", f"Start {DEV} development")
    git(work, "push", "-q", "origin", "main")
    return work


def open_local(work: Path, version: str, **overrides: str) -> ReleaseContext:
    return open_release(
        work,
        parse_version(version),
        overrides={**LOCAL_ONLY, **overrides},
        options=Options(skip_prerelease=True),
        credentials=Credentials(),
    )


def test_preflight_accepts_releases_above_a_development_version(dev_work: Path) -> None:
    preflight(open_local(dev_work, NEXT, next_cycle="dev"))
    bigger = cadence.next_version(parse_version(NEXT), "minor").pep440
    preflight(open_local(dev_work, bigger, next_cycle="dev"))


def test_preflight_refuses_the_release_below_a_development_version(dev_work: Path) -> None:
    with pytest.raises(PreflightError) as exc:
        preflight(open_local(dev_work, VERSION))
    assert any(
        f"version {VERSION} is not greater than the current version {DEV}" in p
        for p in exc.value.problems
    )


def test_preflight_refuses_next_cycle_dev_when_bump_my_version_cannot_write_it(
    dev_work: Path,
) -> None:
    git(dev_work, "reset", "-q", "--hard", "origin/main~1")  # back at CURRENT
    git(dev_work, "push", "-q", "--force", "origin", "main")
    pyproject = dev_work / "pyproject.toml"
    text = pyproject.read_text()
    no_dev = "\n".join(ln for ln in text.splitlines() if "(?P<dev_l>" not in ln) + "\n"
    assert no_dev != text
    pyproject.write_text(no_dev)
    (dev_work / "changelog.d" / "+pending.fixed.md").write_text("Fixed a pending thing.\n")
    git(dev_work, "add", "--all")
    git(dev_work, "commit", "-qm", "no dev versions")
    git(dev_work, "push", "-q", "origin", "main")
    preflight(open_local(dev_work, VERSION))  # next_cycle = "none": nothing to check
    with pytest.raises(PreflightError) as exc:
        preflight(open_local(dev_work, VERSION, next_cycle="dev"))
    problem = f'next_cycle = "dev" but bump-my-version cannot write {DEV}'
    assert any(problem in p for p in exc.value.problems)


def test_status_and_cadence_on_a_development_version(
    dev_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [f"{k}={','.join(v) if isinstance(v, tuple) else v}" for k, v in LOCAL_ONLY.items()]
    status_command(dev_work, None, secrets=Secrets(), overrides=flags, as_json=True)
    data = json.loads(capsys.readouterr().out)
    seen = data["cadence"]
    suggested = cadence.next_version(parse_current_version(DEV), seen["suggested_bump"])
    assert seen["suggested_version"] == suggested.pep440
    # The rows describe the release the cadence suggests (NEXT, or more with news waiting).
    assert data["version"] == suggested.pep440 and suggested >= parse_version(NEXT)
    assert suggested > parse_current_version(DEV) and not suggested.is_prerelease
    assert {s["name"]: s["status"] for s in data["steps"]}["next-cycle"] == "skipped"


# --- end to end, through the stand-ins ----------------------------------------------------
def run(
    r: Rehearsal, version: str = VERSION, cycle: str = "dev", *, image: bool = False, **kw: object
) -> Report:
    """A rehearsed release of *version* with ``--set next_cycle=CYCLE``."""
    options = Options(date=r.date, skip_image=not image)
    ctx = rehearsal_context(r.work, parse_version(version), r.s, options=options)
    ctx.config = ctx.config.with_overrides(next_cycle=cycle)
    return release(ctx, ConsoleReporter(), **kw)  # type: ignore[arg-type]


def files_at(r: Rehearsal, ref: str) -> dict[str, str]:
    """The version each version file names at *ref* on the remote."""
    out = Path(tempfile.mkdtemp(dir=r.work.parent))
    for path in ("pyproject.toml", INIT, "Dockerfile", "docs/installation.md"):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(git(r.remote, "show", f"{ref}:{path}") + "\n")
    return versions_in(out)


def steps_of(report: Report) -> dict[str, str]:
    return {o.name: o.status for o in report.steps}


@pytest.mark.e2e
def test_next_cycle_dev_moves_main_once_and_the_next_release_starts_from_it(
    rehearsal: Rehearsal,
) -> None:
    r = rehearsal
    report = run(r, image=True)
    assert steps_of(report)["next-cycle"] == "acted"
    assert files_at(r, "main") == at(DEV, VERSION)
    assert files_at(r, f"v{VERSION}") == at(VERSION, VERSION)
    assert git(r.remote, "log", "-1", "--format=%s", "main") == f"Start {DEV} development"
    assert git(r.remote, "rev-parse", "main") == git(r.work, "rev-parse", "main")
    assert git(r.work, "status", "--porcelain") == ""
    if r.s.registry is not None:  # the deploy commit went first, and stayed
        assert f"market-data-ingestion:v{VERSION}" in git(
            r.remote, "show", "main:deploy/k8s/deployment.yaml"
        )
        assert git(r.remote, "log", "-1", "--format=%s", "main~1") == f"Deploy v{VERSION}"

    # A rerun changes nothing and shows the step done.
    head = git(r.remote, "rev-parse", "main")
    again = run(r, image=True)
    assert again.already_released
    assert steps_of(again)["next-cycle"] == "done"
    assert git(r.remote, "rev-parse", "main") == head

    # Killed between the commit and the push: the rerun only pushes (deploy-manifests pushes
    # main too when it runs, so either step may be the one that does), and commits nothing.
    git(r.work, "push", "-q", "--force", "origin", "main~1:refs/heads/main")
    resumed = run(r, image=True)
    acted = {name for name, status in steps_of(resumed).items() if status == "acted"}
    assert acted & {"next-cycle", "deploy-manifests"} and acted <= {
        "next-cycle",
        "deploy-manifests",
    }
    assert git(r.remote, "rev-parse", "main") == git(r.work, "rev-parse", "main") == head

    # The next release starts from the development version.
    (r.work / "changelog.d" / "+next.fixed.md").write_text("Fixed the next thing.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", "A fix")
    git(r.work, "push", "-q", "origin", "main")
    later = next_development(parse_version(NEXT)).pep440
    following = run(r, NEXT)
    assert steps_of(following)["bump"] == "acted"
    assert files_at(r, f"v{NEXT}") == at(NEXT, NEXT)
    assert files_at(r, "main") == at(later, NEXT)
    changelog = git(r.remote, "show", "main:CHANGELOG.md")
    assert f"[{DEV}]" not in changelog and f"[{later}]" not in changelog  # no section, no link
    assert changelog.index(f"## [{NEXT}]") < changelog.index(f"## [{VERSION}]")
    assert "Fixed the next thing." in (extract_section(changelog, NEXT) or "")
    assert "Fixed the next thing." not in (extract_section(changelog, VERSION) or "")
    tagged = git(r.remote, "show", f"v{NEXT}:CHANGELOG.md")
    assert extract_section(tagged, NEXT) == extract_section(changelog, NEXT)

    # Without an image nothing else pushes main: the step pushes its own commit, only that.
    head = git(r.remote, "rev-parse", "main")
    git(r.work, "push", "-q", "--force", "origin", "main~1:refs/heads/main")
    resumed = run(r, NEXT)
    assert [n for n, status in steps_of(resumed).items() if status == "acted"] == ["next-cycle"]
    assert git(r.remote, "rev-parse", "main") == git(r.work, "rev-parse", "main") == head


@pytest.mark.e2e
def test_dry_run_shows_the_commands_and_none_skips_the_step(rehearsal: Rehearsal) -> None:
    r = rehearsal
    before = git(r.remote, "show-ref")
    dry = run(r, dry_run=True)
    step = next(o for o in dry.steps if o.name == "next-cycle")
    assert step.status == "would-run"
    shown = [shlex.split(c) for c in step.commands]
    assert shown[-3:-1] == [
        ["git", "add", "--", *load_config(r.work).version_files],
        ["git", "commit", "--quiet", "-m", f"Start {DEV} development"],
    ]
    assert shown[-4][-5:] == ["bump", "--allow-dirty", "dev_l", "--new-version", DEV]
    assert shown[-1] == ["git", "push", "--quiet", "origin", "refs/heads/main"]
    assert git(r.remote, "show-ref") == before
    assert git(r.work, "status", "--porcelain") == ""

    report = run(r, cycle="none")
    step = next(o for o in report.steps if o.name == "next-cycle")
    assert (step.status, step.detail) == ("skipped", 'next_cycle = "none"')
    assert files_at(r, "main") == at(VERSION, VERSION)


@pytest.mark.e2e
def test_a_hotfix_release_leaves_mains_cycle_alone(rehearsal: Rehearsal) -> None:
    r = rehearsal
    run(r)
    assert files_at(r, "main")["config"] == DEV
    hotfix_command(r.work, f"v{VERSION}")
    (r.work / "changelog.d" / "+hot.fixed.md").write_text(f"Fixed a critical bug in {VERSION}.\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", "The fix")
    git(r.work, "push", "-q", "origin", f"hotfix/v{HOTFIX}")
    report = run(r, HOTFIX)
    step = next(o for o in report.steps if o.name == "next-cycle")
    assert step.status == "skipped" and f"hotfix/v{HOTFIX}" in step.detail
    assert "Start" not in git(r.remote, "log", "-1", "--format=%s", "main")
    assert files_at(r, f"v{HOTFIX}") == at(HOTFIX, HOTFIX)
    later = next_development(parse_version(HOTFIX)).pep440
    assert files_at(r, "main")["config"] != later
