"""The pre-release matrix: the release process's "Testing Releases" list, one nox session each.

The process is retold, step by step, in docs/RELEASING.md.

    nox                      the whole list (same as nox -s prerelease), then a summary table
    nox -l                   the list
    nox -s build cli         build the wheel once, then check its console commands

Every session after ``build`` installs the wheel that ``build`` left in .nox-artifacts/dist/,
never the source tree. The logic lives in ``release_engine.prerelease``; pytest checks of the
installed wheel live in tests/installed/.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import nox

if TYPE_CHECKING:  # annotations only: sessions import the engine when they run (_engine)
    from release_engine.config import ReleaseConfig
    from release_engine.prerelease.matrix import Runner

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"
nox.options.sessions = ["prerelease"]

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYTHON = "3.11"
CHECKLIST = "checklist"  # the tag of every session that `nox -s prerelease` runs
#: The tag of the sessions that spread over every core (pytest -n auto): `nox -s prerelease`
#: runs them one after another, the others beside. Not the reliability scenarios: their threads
#: wait on one killed release after another and leave a fifth of two cores idle, which the
#: pytest runs beside them fill.
EVERY_CORE = "every-core"
# uv's settings in every session and nested nox run, unless the environment sets them. The
# installed-wheel checks start the console script many times: compiled bytecode halves that
# (PYTHONDONTWRITEBYTECODE, set on some machines, would otherwise recompile at every start).
UV_DEFAULTS = {"UV_PYTHON_DOWNLOADS": "never", "UV_COMPILE_BYTECODE": "1"}
DEFAULT_BASE_IMAGE = "localhost/mdi-python-base:bookworm"  # $MDI_BASE_IMAGE overrides it
#: The database scripts/bootstrap makes: README's test command tests PostgreSQL as CI does.
#: $MDI_TEST_POSTGRES_URL overrides it; set empty, no PostgreSQL is tested (CI: that fails).
DEFAULT_POSTGRES_URL = "postgresql+psycopg://mdi:mdi@127.0.0.1:5432/mdi_test"

SessionFunction = Callable[[nox.Session], None]


# Importing this file only defines the sessions: pyproject.toml and the engine are read when a
# session runs (the helpers below), so `nox -l` lists the sessions whatever state they are in.
def _engine() -> None:
    """Make ``release_engine`` importable from this checkout; called when a session runs."""
    # release_engine is this checkout's own tooling: it is not in the wheel nor installed where
    # nox runs, and nox puts the noxfile's directory on sys.path only when started as
    # `python -m nox` from that directory. One path entry, added at call time, is simpler than
    # an import hook, and keeps `nox -l` from importing any of it.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _uv_env() -> dict[str, str]:
    """:data:`UV_DEFAULTS`, each one overridden by the environment."""
    return {key: os.environ.get(key, value) for key, value in UV_DEFAULTS.items()}


def _session(func: SessionFunction) -> SessionFunction:
    """The frame of every session: uv's defaults in its environment, the engine importable,
    and an engine error (a broken pyproject.toml, no wheel built…) reported as its one line."""

    @functools.wraps(func)
    def run(session: nox.Session) -> None:
        session.env.update(_uv_env())
        session.env["MDI_TEST_POSTGRES_URL"] = _postgres_url()
        _engine()
        from release_engine.errors import ReleaseError

        try:
            func(session)
        except ReleaseError as exc:
            session.error(str(exc))

    return run


def _config() -> ReleaseConfig:
    """The ``[tool.release]`` settings, read from pyproject.toml now; a ConfigError if broken."""
    _engine()
    from release_engine.config import load_config

    return load_config(ROOT)


def _groups(session: nox.Session, *names: str, extras: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``-r FILE``: the dependency groups *names*, with the project's own dependencies (and
    its *extras*'), at the versions and hashes uv.lock holds. A session installs nothing the
    lock does not pin; a pyproject.toml that the lock no longer matches is one line."""
    return _locked(session, names, extras, only=False)


def _only_groups(session: nox.Session, *names: str) -> tuple[str, ...]:
    """``-r FILE``: the dependency groups *names* alone (no project dependency), locked."""
    return _locked(session, names, (), only=True)


def _locked(
    session: nox.Session, names: tuple[str, ...], extras: tuple[str, ...], *, only: bool
) -> tuple[str, ...]:
    flag = "--only-group" if only else "--group"
    argv = [sys.executable, "-m", "uv", "export", "--frozen", "--no-emit-project"]
    argv += ["--no-default-groups", "--format", "requirements-txt", "--no-header", "--quiet"]
    argv += [arg for name in names for arg in (flag, name)]
    argv += [arg for extra in extras for arg in ("--extra", extra)]
    path = ROOT / "pyproject.toml"
    try:  # a broken pyproject.toml is said as such, before uv's own words on the lock
        nox.project.load_toml(path)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        session.error(f"{path} is not valid TOML ({exc}): fix it and run again")
    if not (ROOT / "uv.lock").is_file():
        session.error("uv.lock is missing: run `uv lock` and commit it")
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        session.error(f"uv.lock cannot be read ({proc.stderr.strip()}): run `uv lock`")
    path = Path(session.create_tmp()) / f"locked-{'-'.join(names + extras)}.txt"
    path.write_text(proc.stdout)
    return ("-r", str(path))


def _postgres_url() -> str:
    """:data:`DEFAULT_POSTGRES_URL`, or ``$MDI_TEST_POSTGRES_URL`` when set (empty: none)."""
    return os.environ.get("MDI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _wheel(session: nox.Session, config: ReleaseConfig) -> Path:
    """The wheel that ``nox -s build`` made; a PrereleaseError saying to build it if none."""
    from release_engine.prerelease.matrix import find_wheel, stale_sources

    found = find_wheel(ROOT, config.package, config.current_version)
    stale = stale_sources(ROOT, found)
    if stale:
        session.warn(
            f"{found.name} is older than {len(stale)} source file(s), e.g. "
            f"{stale[0].relative_to(ROOT)}: run `nox -s build` to test them"
        )
    return found


def _runner(session: nox.Session) -> Runner:
    """Commands run through the session: logged by nox, output shown when they fail."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> str:
        out = session.run(*args, env=dict(env or {}), silent=True, external=True)
        return out if isinstance(out, str) else ""

    return run


def _installed_checks(session: nox.Session, name: str, *extras: str) -> None:
    """Install the built wheel (not the source) and run tests/installed/test_installed_NAME.py."""
    config = _config()
    built = _wheel(session, config)
    session.install(
        f"{built}[{','.join(extras)}]" if extras else str(built),
        *_groups(session, "test", extras=extras),
    )
    pytest = ["pytest", "--confcutdir", "tests/installed", "-p", "no:cacheprovider"]
    session.run(
        *pytest,
        f"tests/installed/test_installed_{name}.py",
        *session.posargs,
        env={"PRERELEASE_EXPECTED_VERSION": config.current_version},
    )


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def lint(session: nox.Session) -> None:
    """All CI checks pass: the hooks of .pre-commit-config.yaml (ruff, mypy, shellcheck…)."""
    # mypy and the fragment check are `system` hooks: they run in this session's environment.
    session.install(".", *_groups(session, "lint", "typecheck"))
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure", *session.posargs)


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def typecheck(session: nox.Session) -> None:
    """All CI checks pass: mypy --strict over the package, release_engine, tasks and noxfile."""
    session.install(".", *_groups(session, "typecheck"))
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHONS, tags=[CHECKLIST, EVERY_CORE])
@_session
def tests(session: nox.Session) -> None:
    """Run full test suite: pytest (not e2e, not container) on every supported Python."""
    groups = ("test", "release", "rehearsal")
    session.install(".[postgresql]", *_groups(session, *groups, extras=("postgresql",)))
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "auto",  # `nox -s tests -- -n 0`: one after another
        "-m",
        "not e2e and not container",
        "tests",
        "--ignore=tests/installed",
        "--ignore=tests/prerelease",
        *session.posargs,
    )


@nox.session(python=PYTHON, tags=[CHECKLIST, EVERY_CORE])
@_session
def e2e(session: nox.Session) -> None:
    """Run full test suite: the end-to-end release and container tests (CI=1: no skips)."""
    session.install(".", *_groups(session, "test", "release", "rehearsal"))
    # worksteal, not loadfile: one module (a release interrupted after each step) would keep
    # one worker busy long after the other ran out. The slowest tests are listed at the end.
    pytest = ["python", "-m", "pytest", "-n", "auto", "--dist", "worksteal", "--durations=30"]
    session.run(*pytest, "-m", "e2e or container", "tests", "--ignore=tests/installed",
                *session.posargs)  # fmt: skip  # `nox -s e2e -- -n 0`: one after another


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def reliability(session: nox.Session) -> None:
    """The release converges from any state: killed anywhere, faults, bad input, leaks, races."""
    session.install(".", *_groups(session, "test", "release", "rehearsal"))
    # tests/reliability/__main__.py: the table, then `reliability: N passed, M failed`.
    tmp = Path(session.create_tmp()) / "reliability"
    session.run("python", "-m", "tests.reliability", "--tmp", str(tmp), *session.posargs)


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def docs(session: nox.Session) -> None:
    """Documentation is updated: the docs site (mkdocs.yml) builds with every link and anchor
    between its pages resolved (--strict; checked against the pages, offline)."""
    session.install(*_only_groups(session, "docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / ".nox-artifacts" / "site"))


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def build(session: nox.Session) -> None:
    """Build sdist and wheel into .nox-artifacts/dist/; twine check --strict; wheel contents."""
    from release_engine.prerelease.matrix import DIST_DIR

    config = _config()
    dist = ROOT / DIST_DIR
    shutil.rmtree(dist, ignore_errors=True)  # a failed build leaves no stale wheel behind
    session.install(*_only_groups(session, "release"))
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist), ".")
    artifacts = sorted(str(p) for p in dist.iterdir())
    session.run("twine", "check", "--strict", *artifacts)
    session.run("check-wheel-contents", *(a for a in artifacts if a.endswith(".whl")))
    session.log(
        f"built {config.package} {config.current_version}: "
        + ", ".join(Path(a).name for a in artifacts)
    )


@nox.session(python=False, tags=[CHECKLIST])
@_session
def image(session: nox.Session) -> None:
    """Test Docker build: the image from the wheel on the local base image, run and probed."""
    from release_engine.prerelease.image import image_check
    from release_engine.remotes.registry.container import detect_engine
    from release_engine.tools.git import Git

    config = _config()
    engine = detect_engine(config.container_engine)
    if engine is None:
        message = (
            "no container engine (podman, docker) found: run scripts/container-env "
            "as root to install podman and build the local base image"
        )
        if _in_ci():
            session.error(message)
        session.skip(message)
    built = _wheel(session, config)
    tmp = Path(session.create_tmp()) / "image"
    shutil.rmtree(tmp, ignore_errors=True)
    checked = image_check(
        engine,
        built,
        ROOT / "Dockerfile",
        tmp,
        package=config.package,
        version=config.current_version,
        base_image=os.environ.get("MDI_BASE_IMAGE", DEFAULT_BASE_IMAGE),
        revision=Git(ROOT).rev("HEAD") or "unknown",
    )
    session.log(checked)


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def migrations(session: nox.Session) -> None:
    """Test database migrations: empty -> head -> base -> head, SQLite and PostgreSQL."""
    if not _postgres_url():
        message = "MDI_TEST_POSTGRES_URL is not set: PostgreSQL migrations are not tested"
        session.warn(message + (" (CI: this fails)" if _in_ci() else ""))
    _installed_checks(session, "migrations", "postgresql")


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def cli(session: nox.Session) -> None:
    """Test CLI commands: every console command of the installed wheel, good and bad input."""
    _installed_checks(session, "cli")


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def api(session: nox.Session) -> None:
    """Test API endpoints: the installed server on a free local port, every endpoint."""
    _installed_checks(session, "api")


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def sample_data(session: nox.Session) -> None:
    """Test with sample data: the shipped sample ingested, read back through CLI and API."""
    _installed_checks(session, "sample_data")


def _upgrade_options(posargs: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s upgrade --")
    parser.add_argument(
        "--index-url",
        default=os.environ.get("PRERELEASE_PREVIOUS_INDEX_URL"),
        help="simple index holding the previous release (default: "
        "$PRERELEASE_PREVIOUS_INDEX_URL, else built from the newest tag)",
    )
    parser.add_argument(
        "--allow-first-release",
        action="store_true",
        help="pass when there is no earlier release to upgrade from",
    )
    return parser.parse_args(posargs)


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def upgrade(session: nox.Session) -> None:
    """Test upgrade from previous version: old release + data, new wheel over it, migrated."""
    from release_engine.prerelease.upgrade import fetch_previous, find_previous, upgrade_check

    options = _upgrade_options(session.posargs)
    config = _config()
    previous, why_none = find_previous(ROOT, config, options.index_url)
    if previous is None:
        if not options.allow_first_release:
            session.error(
                f"{why_none}: pass `-- --allow-first-release` if {config.current_version} "
                "is the first release"
            )
        session.log(f"{why_none}; passing: --allow-first-release")
        return
    session.log(f"upgrading from {previous}")
    new = _wheel(session, config)
    session.install(*_only_groups(session, "release"))
    tmp = Path(session.create_tmp()) / "upgrade"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run = _runner(session)
    old = fetch_previous(run, previous, ROOT, config, tmp)
    report = upgrade_check(run, tmp / "venv", old, new, config.current_version, tmp, PYTHON)
    session.log(str(report))


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def fragments(session: nox.Session) -> None:
    """CHANGELOG is updated: fragments of known types; towncrier check against main."""
    from release_engine.prerelease.matrix import towncrier_base
    from release_engine.tools.changelog import fragment_problems, skip_trailers
    from release_engine.tools.git import Git

    config = _config()
    problems = fragment_problems(ROOT)
    if problems:
        session.error("\n".join(problems))
    session.install(*_only_groups(session, "release"))
    base = towncrier_base(Git(ROOT), config.remote, config.main_branch)
    if base is None:
        session.warn(
            f"neither {config.remote}/{config.main_branch} nor {config.main_branch} "
            "has a commit yet: towncrier check has nothing to compare with"
        )
        return
    skipped = skip_trailers(ROOT, base)
    if skipped:
        session.log(f"no fragment needed: {skipped[0][:12]} says 'Changelog: skip'")
        return
    try:
        session.run("towncrier", "check", "--compare-with", base)
    except nox.command.CommandFailed:
        session.error(
            f"files changed since {base} but changelog.d/ has no new fragment: add one with "
            "inv changelog.add --type fixed --message '...'"
        )


@nox.session(python=PYTHON, tags=[CHECKLIST])
@_session
def semver(session: nox.Session) -> None:
    """The version tells the truth: the semver guard on HEAD (`-- 1.2.3`: that version)."""
    # The payload's API, CLI and HTTP API are read in this environment: it holds them and griffe.
    session.install(".", *_groups(session, "release"))
    session.run("python", "-m", "release_engine.semver", *session.posargs)


@nox.session(python=PYTHON)
@_session
def changelog(session: nox.Session) -> None:
    """Print the next CHANGELOG section (towncrier build --draft); `-- 1.2.3` names it."""
    from release_engine.prerelease.matrix import next_version

    version = session.posargs[0] if session.posargs else next_version(ROOT, _config())
    session.install(*_only_groups(session, "release"))
    session.run("towncrier", "build", "--draft", "--version", version)


@nox.session(python=False, name="prerelease")
@_session
def prerelease_all(session: nox.Session) -> None:
    """Run the whole Testing Releases list above, then print a summary table.

    On two cores or more, in two lanes: the sessions tagged EVERY_CORE one after another,
    live, and the others beside them, each shown whole when it ends (`-- --lanes 1`: every
    session live, one after another).
    """
    from release_engine.prerelease import matrix
    from release_engine.prerelease.upgrade import is_first_release
    from release_engine.tools.git import Git

    config = _config()
    nox_cmd = [
        sys.executable,
        "-m",
        "nox",
        "--noxfile",
        str(ROOT / "noxfile.py"),
        *matrix.forwarded_nox_options(sys.argv[1:]),
    ]
    lanes = matrix.lanes_option(session.posargs)
    sha = Git(ROOT).rev("HEAD")
    names = matrix.list_sessions(nox_cmd, CHECKLIST)
    every_core = set(matrix.list_sessions(nox_cmd, EVERY_CORE)) if lanes > 1 else set()
    first = is_first_release(Git(ROOT), config)
    began = time.monotonic()
    results = matrix.run_sessions(
        nox_cmd,
        names,
        every_core=every_core,
        lanes=lanes,
        posargs={"upgrade": ["--allow-first-release"]} if first else {},
        env=_uv_env(),
    )
    wall = time.monotonic() - began if matrix.lanes_used(names, every_core, lanes) > 1 else None
    print(matrix.format_summary(results, wall), flush=True)
    record = matrix.record_green_run(ROOT, sha, config.current_version, results) if sha else None
    session.log(
        f"green run recorded: {record.relative_to(ROOT)}"
        if record
        else "no green run recorded (needs every session passed on a clean, committed tree)"
    )
    failed = [r.session for r in results if r.result in ("failed", "aborted")]
    if failed:
        session.error(f"{len(failed)} session(s) failed: {', '.join(failed)}")
