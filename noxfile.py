"""The pre-release matrix: RELEASE_PROCESS.md's "Testing Releases" list, one nox session each.

    nox                      the whole list (same as nox -s prerelease), then a summary table
    nox -l                   the list
    nox -s build cli         build the wheel once, then check its console commands

Every session after ``build`` installs the wheel that ``build`` left in .nox-artifacts/dist/,
never the source tree. The logic lives in ``release_engine.prerelease.matrix``; pytest checks of the
installed wheel live in tests/installed/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from release_engine.config import load_config  # noqa: E402
from release_engine.errors import ReleaseError  # noqa: E402
from release_engine.prerelease import image as prerelease_image  # noqa: E402
from release_engine.prerelease import matrix as prerelease  # noqa: E402
from release_engine.prerelease import upgrade as prerelease_upgrade  # noqa: E402
from release_engine.tools import container  # noqa: E402
from release_engine.tools.changelog import fragment_problems  # noqa: E402
from release_engine.tools.git import Git  # noqa: E402

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"
nox.options.sessions = ["prerelease"]
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# The installed-wheel checks start the console script many times: compiled bytecode halves that
# (PYTHONDONTWRITEBYTECODE, set on some machines, would otherwise recompile at every start).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
CONFIG = load_config(ROOT)
PACKAGE, VERSION = CONFIG.package, CONFIG.current_version
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYTHON = "3.11"
CHECKLIST = "checklist"  # the tag of every session that `nox -s prerelease` runs
IN_CI = bool(os.environ.get("CI"))
BASE_IMAGE = os.environ.get("MDI_BASE_IMAGE", "localhost/mdi-python-base:bookworm")


def groups(*names: str) -> tuple[str, ...]:
    return nox.project.dependency_groups(PYPROJECT, *names)


def wheel(session: nox.Session) -> Path:
    """The wheel that ``nox -s build`` made, or stop the session saying to build it."""
    try:
        found = prerelease.find_wheel(ROOT, PACKAGE, VERSION)
    except ReleaseError as exc:
        session.error(str(exc))
    stale = prerelease.stale_sources(ROOT, found)
    if stale:
        session.warn(
            f"{found.name} is older than {len(stale)} source file(s), e.g. "
            f"{stale[0].relative_to(ROOT)}: run `nox -s build` to test them"
        )
    return found


def runner(session: nox.Session) -> prerelease.Runner:
    """Commands run through the session: logged by nox, output shown when they fail."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> str:
        out = session.run(*args, env=dict(env or {}), silent=True, external=True)
        return out if isinstance(out, str) else ""

    return run


def installed_checks(session: nox.Session, name: str, *extras: str) -> None:
    """Install the built wheel (not the source) and run tests/installed/test_installed_NAME.py."""
    built = wheel(session)
    session.install(f"{built}[{','.join(extras)}]" if extras else str(built), *groups("test"))
    pytest = ["pytest", "--confcutdir", "tests/installed", "-p", "no:cacheprovider"]
    session.run(
        *pytest,
        f"tests/installed/test_installed_{name}.py",
        *session.posargs,
        env={"PRERELEASE_EXPECTED_VERSION": VERSION},
    )


@nox.session(python=PYTHON, tags=[CHECKLIST])
def lint(session: nox.Session) -> None:
    """All CI checks pass: ruff check."""
    session.install(*groups("lint"))
    session.run("ruff", "check", ".", *session.posargs)


@nox.session(python=PYTHON, tags=[CHECKLIST])
def typecheck(session: nox.Session) -> None:
    """All CI checks pass: mypy --strict over the package, release_engine, tasks and noxfile."""
    session.install(".", *groups("typecheck"), "tomli")  # mypy checks as 3.10: tomli there
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHONS, tags=[CHECKLIST])
def tests(session: nox.Session) -> None:
    """Run full test suite: pytest (not e2e, not container) on every supported Python."""
    session.install(".[postgresql]", *groups("test", "release"))
    session.run(
        "python",
        "-m",
        "pytest",
        "-m",
        "not e2e and not container",
        "tests",
        "--ignore=tests/installed",
        "--ignore=tests/prerelease",
        *session.posargs,
    )


@nox.session(python=PYTHON, tags=[CHECKLIST])
def e2e(session: nox.Session) -> None:
    """Run full test suite: the end-to-end release and container tests (CI=1: no skips)."""
    session.install(".", *groups("test", "release"))
    pytest = ["python", "-m", "pytest", "-n", "auto", "--dist", "loadfile"]  # `-- -n 0`: serial
    session.run(*pytest, "-m", "e2e or container", "tests", "--ignore=tests/installed",
                *session.posargs)  # fmt: skip


@nox.session(python=PYTHON, tags=[CHECKLIST])
def build(session: nox.Session) -> None:
    """Build sdist and wheel into .nox-artifacts/dist/; twine check --strict; wheel contents."""
    dist = ROOT / prerelease.DIST_DIR
    shutil.rmtree(dist, ignore_errors=True)  # a failed build leaves no stale wheel behind
    session.install(*groups("release"))
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist), ".")
    artifacts = sorted(str(p) for p in dist.iterdir())
    session.run("twine", "check", "--strict", *artifacts)
    session.run("check-wheel-contents", *(a for a in artifacts if a.endswith(".whl")))
    session.log(f"built {PACKAGE} {VERSION}: " + ", ".join(Path(a).name for a in artifacts))


@nox.session(python=False, tags=[CHECKLIST])
def image(session: nox.Session) -> None:
    """Test Docker build: the image from the wheel on the local base image, run and probed."""
    engine = container.detect_engine(CONFIG.container_engine)
    if engine is None:
        message = (
            "no container engine (podman, docker) found: run scripts/container-env "
            "as root to install podman and build the local base image"
        )
        if IN_CI:
            session.error(message)
        session.skip(message)
    built = wheel(session)
    tmp = Path(session.create_tmp()) / "image"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        checked = prerelease_image.image_check(
            engine,
            built,
            ROOT / "Dockerfile",
            tmp,
            package=PACKAGE,
            version=VERSION,
            base_image=BASE_IMAGE,
            revision=Git(ROOT).rev("HEAD") or "unknown",
        )
    except ReleaseError as exc:
        session.error(str(exc))
    session.log(checked)


@nox.session(python=PYTHON, tags=[CHECKLIST])
def migrations(session: nox.Session) -> None:
    """Test database migrations: empty -> head -> base -> head, SQLite and PostgreSQL."""
    if not os.environ.get("MDI_TEST_POSTGRES_URL"):
        message = "MDI_TEST_POSTGRES_URL is not set: PostgreSQL migrations are not tested"
        session.warn(message + (" (CI: this fails)" if IN_CI else ""))
    installed_checks(session, "migrations", "postgresql")


@nox.session(python=PYTHON, tags=[CHECKLIST])
def cli(session: nox.Session) -> None:
    """Test CLI commands: every console command of the installed wheel, good and bad input."""
    installed_checks(session, "cli")


@nox.session(python=PYTHON, tags=[CHECKLIST])
def api(session: nox.Session) -> None:
    """Test API endpoints: the installed server on a free local port, every endpoint."""
    installed_checks(session, "api")


@nox.session(python=PYTHON, tags=[CHECKLIST])
def sample_data(session: nox.Session) -> None:
    """Test with sample data: the shipped sample ingested, read back through CLI and API."""
    installed_checks(session, "sample_data")


def upgrade_options(posargs: list[str]) -> argparse.Namespace:
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
def upgrade(session: nox.Session) -> None:
    """Test upgrade from previous version: old release + data, new wheel over it, migrated."""
    options = upgrade_options(session.posargs)
    try:
        previous, why_none = prerelease_upgrade.find_previous(ROOT, CONFIG, options.index_url)
    except ReleaseError as exc:
        session.error(str(exc))
    if previous is None:
        if not options.allow_first_release:
            session.error(
                f"{why_none}: pass `-- --allow-first-release` if {VERSION} is the first release"
            )
        session.log(f"{why_none}; passing: --allow-first-release")
        return
    session.log(f"upgrading from {previous}")
    new = wheel(session)
    session.install(*groups("release"), "pip")
    tmp = Path(session.create_tmp()) / "upgrade"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run = runner(session)
    try:
        old = prerelease_upgrade.fetch_previous(run, previous, ROOT, CONFIG, tmp)
        report = prerelease_upgrade.upgrade_check(run, tmp / "venv", old, new, VERSION, tmp, PYTHON)
    except ReleaseError as exc:
        session.error(str(exc))
    session.log(str(report))


@nox.session(python=PYTHON, tags=[CHECKLIST])
def fragments(session: nox.Session) -> None:
    """CHANGELOG is updated: fragments of known types; towncrier check against main."""
    try:
        problems = fragment_problems(ROOT)
    except ReleaseError as exc:
        session.error(str(exc))
    if problems:
        session.error("\n".join(problems))
    session.install(*groups("release"))
    base = prerelease.towncrier_base(Git(ROOT), CONFIG.remote, CONFIG.main_branch)
    if base is None:
        session.warn(
            f"neither {CONFIG.remote}/{CONFIG.main_branch} nor {CONFIG.main_branch} "
            "has a commit yet: towncrier check has nothing to compare with"
        )
        return
    try:
        session.run("towncrier", "check", "--compare-with", base)
    except nox.command.CommandFailed:
        session.error(
            f"files changed since {base} but changelog.d/ has no new fragment: add one with "
            "inv changelog.add --type fixed --message '...'"
        )


@nox.session(python=PYTHON)
def changelog(session: nox.Session) -> None:
    """Print the next CHANGELOG section (towncrier build --draft); `-- 1.2.3` names it."""
    try:
        version = session.posargs[0] if session.posargs else prerelease.next_version(ROOT, CONFIG)
    except ReleaseError as exc:
        session.error(str(exc))
    session.install(*groups("release"))
    session.run("towncrier", "build", "--draft", "--version", version)


@nox.session(python=False, name="prerelease")
def prerelease_all(session: nox.Session) -> None:
    """Run the whole Testing Releases list above, then print a summary table."""
    nox_cmd = [
        sys.executable,
        "-m",
        "nox",
        "--noxfile",
        str(ROOT / "noxfile.py"),
        *prerelease.forwarded_nox_options(sys.argv[1:]),
    ]
    sha = Git(ROOT).rev("HEAD")
    try:
        names = prerelease.list_sessions(nox_cmd, CHECKLIST)
        first = prerelease_upgrade.is_first_release(Git(ROOT), CONFIG)
    except ReleaseError as exc:
        session.error(str(exc))
    results = []
    for name in names:
        posargs = ["--allow-first-release"] if name == "upgrade" and first else []
        results.append(prerelease.run_session(nox_cmd, name, posargs))
    print(prerelease.format_summary(results), flush=True)
    record = prerelease.record_green_run(ROOT, sha, VERSION, results) if sha else None
    session.log(
        f"green run recorded: {record.relative_to(ROOT)}"
        if record
        else "no green run recorded (needs every session passed on a clean, committed tree)"
    )
    failed = [r.session for r in results if r.result in ("failed", "aborted")]
    if failed:
        session.error(f"{len(failed)} session(s) failed: {', '.join(failed)}")
