"""The pre-release matrix's logic; ``noxfile.py`` parses, logs and calls in here.

Where the built wheel lives, which changelog fragments are valid, how the sessions of
``nox -s prerelease`` are run and summed up, the record of a green run that the release
preflight reads (:func:`green_run_for`), the image check and the upgrade check.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from . import changelog, index
from .config import ReleaseConfig
from .container import ContainerEngine, base_image_available, prepare_context
from .errors import CommandError, ReleaseError, UsageError
from .git import Git
from .proc import run as run_command
from .redact import redact
from .version import Version, parse_version, versions_from_tags

__all__ = [
    "DIST_DIR",
    "GREEN_RUN_DIR",
    "PrereleaseError",
    "PreviousRelease",
    "Runner",
    "SessionResult",
    "UpgradeReport",
    "fetch_previous",
    "find_previous",
    "find_wheel",
    "format_summary",
    "forwarded_nox_options",
    "fragment_problems",
    "green_run_for",
    "image_check",
    "is_first_release",
    "list_sessions",
    "next_version",
    "record_green_run",
    "run_session",
    "stale_sources",
    "towncrier_base",
    "upgrade_check",
]

DIST_DIR = Path(".nox-artifacts") / "dist"
GREEN_RUN_DIR = Path(".release") / "prerelease"


class PrereleaseError(ReleaseError):
    """A pre-release check found the release not ready; the message says what to do."""


class Runner(Protocol):
    """Runs an argument list and returns its output (stderr included); raises on failure."""

    def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> str: ...


# --- the built wheel ------------------------------------------------------------------------
def find_wheel(repo: Path, package: str, version: str) -> Path:
    """The wheel of *package* *version* that ``nox -s build`` left in :data:`DIST_DIR`."""
    name = re.sub(r"[-_.]+", "_", package).lower()
    found = sorted((repo / DIST_DIR).glob(f"{name}-{version}-*.whl"))
    if not found:
        raise PrereleaseError(
            f"no wheel of {package} {version} in {DIST_DIR}/: run `nox -s build` first"
        )
    return found[-1]


def stale_sources(repo: Path, artifact: Path) -> list[Path]:
    """Source files changed after *artifact* was built (the wheel no longer matches them)."""
    built = artifact.stat().st_mtime
    candidates = [repo / "pyproject.toml", *(repo / "src").rglob("*")]
    return [p for p in candidates if p.is_file() and p.stat().st_mtime > built]


# --- changelog fragments --------------------------------------------------------------------
def fragment_problems(repo: Path) -> list[str]:
    """One line per file in changelog.d/ that towncrier would drop, naming the valid types."""
    scanned = changelog.scan_fragments(repo)
    valid = ", ".join(scanned.types)
    problems = []
    for path in scanned.unknown:
        shown = f"{scanned.directory.name}/{path.name}"
        parts = path.name.split(".")
        kind = parts[-3] if len(parts) >= 4 and parts[-2].isdigit() else parts[-2]
        if path.suffix == ".md" and len(parts) >= 3 and kind not in scanned.types:
            problems.append(f"{shown}: unknown fragment type {kind!r}; valid types: {valid}")
        else:
            problems.append(
                f"{shown}: not a fragment name: use <issue>.<type>.md or "
                f"+<slug>.<type>.md with a type among: {valid}"
            )
    return problems


def towncrier_base(git: Git, remote: str, branch: str) -> str | None:
    """What ``towncrier check`` compares with: ``origin/main``, else ``main``, else nothing."""
    for ref in (f"{remote}/{branch}", branch):
        if git.rev(ref) is not None:
            return ref
    return None


def next_version(repo: Path, config: ReleaseConfig) -> str:
    """The version being prepared: the current one, unless it is already tagged."""
    tag = f"{config.tag_prefix}{config.current_version}"
    if tag in Git(repo).tags():
        raise UsageError(
            f"{tag} is already released: name the next version, e.g. nox -s changelog -- 1.2.3"
        )
    return config.current_version


# --- running and summing up the sessions ----------------------------------------------------
@dataclass(frozen=True)
class SessionResult:
    session: str
    result: str  # success, failed, skipped or aborted, as nox reports them
    seconds: float
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.result == "success"


_VALUE_OPTIONS = {
    "--envdir",
    "--reuse-venv",
    "-db",
    "--default-venv-backend",
    "-fb",
    "--force-venv-backend",
    "--download-python",
}
_FLAG_OPTIONS = {
    "-r",
    "-R",
    "--reuse-existing-virtualenvs",
    "--no-reuse-existing-virtualenvs",
    "--no-install",
    "-v",
    "--verbose",
    "--no-color",
    "--force-color",
}


def forwarded_nox_options(argv: Sequence[str]) -> list[str]:
    """The options of this nox run that the nested ``nox -s X`` runs must share (envdir…)."""
    forwarded: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        key = arg.split("=", 1)[0]
        if key in _VALUE_OPTIONS and "=" in arg:
            forwarded.append(arg)
        elif key in _VALUE_OPTIONS and i + 1 < len(argv):
            forwarded += [arg, argv[i + 1]]
        elif arg in _FLAG_OPTIONS:
            forwarded.append(arg)
    return forwarded


def list_sessions(nox: Sequence[str], tag: str) -> list[str]:
    """The sessions tagged *tag*, in the noxfile's order, as ``nox -l --json`` lists them."""
    listing = json.loads(run_command([*nox, "-l", "--json", "-t", tag]).stdout)
    return [str(entry["session"]) for entry in listing]


def run_session(nox: Sequence[str], session: str, posargs: Sequence[str] = ()) -> SessionResult:
    """Run ``nox -s SESSION`` in a process of its own, output shown live; read its report."""
    with tempfile.TemporaryDirectory(prefix="prerelease-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [*nox, "-s", session, "--report", str(report)]
        if posargs:
            argv += ["--", *posargs]
        print(f"nox > {redact(' '.join(argv))}", file=sys.stderr, flush=True)
        start = time.monotonic()
        code = subprocess.run(argv, check=False).returncode
        seconds = time.monotonic() - start
        entries = json.loads(report.read_text())["sessions"] if report.is_file() else []
    if not entries:  # nox stopped before running the session (bad noxfile, no such session)
        return SessionResult(
            session,
            "success" if code == 0 else "failed",
            seconds,
            "" if code == 0 else f"nox exited with {code}",
        )
    entry = entries[0]
    result = str(entry["result"])
    if code != 0 and result == "success":
        result = "failed"
    return SessionResult(session, result, seconds, str(entry.get("reason") or ""))


def format_summary(results: Sequence[SessionResult]) -> str:
    """The table printed at the end of ``nox -s prerelease``."""
    rows = [(r.session, r.result, f"{r.seconds:.1f}", r.reason) for r in results]
    bad = sum(not r.passed for r in results)
    total = (
        "total",
        "all passed" if bad == 0 else f"{bad} not passed",
        f"{sum(r.seconds for r in results):.1f}",
        "",
    )
    head = ("session", "result", "seconds", "reason")
    widths = [max(len(row[i]) for row in [head, *rows, total]) for i in range(3)]

    def line(row: tuple[str, str, str, str]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2])]
        return "  ".join([*cells, row[3]]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    passed = sum(r.passed for r in results)
    failed = sum(r.result in ("failed", "aborted") for r in results)
    skipped = len(results) - passed - failed
    # The closing line CI reads: sessions, counted the way test runners count tests.
    closing = f"prerelease: {passed} passed, {failed} failed" + (
        f", {skipped} skipped" if skipped else ""
    )
    return "\n".join([line(head), rule, *(line(r) for r in rows), rule, line(total), closing])


# --- the green-run record -------------------------------------------------------------------
def record_green_run(
    repo: Path, sha: str, version: str, results: Sequence[SessionResult]
) -> Path | None:
    """Write ``.release/prerelease/<sha>.json`` if every session passed on a clean tree at *sha*.

    Returns the record's path, or ``None`` (and writes nothing) when the run does not qualify:
    a session that did not pass, uncommitted changes, or HEAD moved during the run.
    """
    git = Git(repo)
    if not results or not all(r.passed for r in results):
        return None
    if git.rev("HEAD") != sha or git.status_porcelain():
        return None
    path = repo / GREEN_RUN_DIR / f"{sha}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "sha": sha,
        "version": version,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sessions": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def green_run_for(repo: Path, sha: str) -> bool:
    """Whether ``nox -s prerelease`` passed in full on a clean tree at commit *sha*."""
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        return False
    try:
        record = json.loads((repo / GREEN_RUN_DIR / f"{sha}.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict):
        return False
    sessions = record.get("sessions")
    return (
        record.get("sha") == sha
        and isinstance(sessions, list)
        and bool(sessions)
        and all(isinstance(s, dict) and s.get("result") == "success" for s in sessions)
    )


# --- the image check -----------------------------------------------------------------------
_HEALTH_PROBE = """
import json, sys, time, urllib.error, urllib.request
for _ in range(120):
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=2) as answer:
            print(answer.status, answer.read().decode()); sys.exit(0)
    except urllib.error.HTTPError as exc:
        status = exc.code; body = exc.read().decode()
        if status != 503: print(status, body); sys.exit(1)
    except OSError:
        pass
    time.sleep(0.25)
print("no answer from /health within 30 s"); sys.exit(1)
"""


def image_check(
    engine_name: str,
    wheel: Path,
    dockerfile: Path,
    workdir: Path,
    *,
    package: str,
    version: str,
    base_image: str,
    revision: str,
) -> str:
    """Build the image from *wheel*; check ``--version``, the labels and ``/health`` inside it."""
    engine = ContainerEngine(engine_name)
    if engine.name == "buildah":
        raise PrereleaseError(
            "buildah cannot run the service to probe /health: install podman "
            "(scripts/container-env) or docker"
        )
    if not base_image_available(engine, base_image):
        raise PrereleaseError(
            f"the base image {base_image} is not in {engine.name}'s store: "
            "run scripts/container-env as root to build it"
        )
    tag = f"localhost/{package}:{version}-prerelease"
    context = prepare_context(wheel, dockerfile, workdir / "context")
    args = {"BASE_IMAGE": base_image, "VERSION": version, "REVISION": revision}
    try:
        engine.build(context, tags=[tag], build_args=args)
    except CommandError as exc:
        raise PrereleaseError(f"the image did not build from {dockerfile.name}: {exc}") from None
    # The image is kept (the next run re-tags it): `podman rmi` would also prune the untagged
    # layer images that concurrent builds on this machine may be reusing from the cache.
    problems = []
    shown = engine.run(tag, ["--version"]).strip()
    if shown != f"{package} {version}":
        problems.append(f"`--version` in the image printed {shown!r}, not '{package} {version}'")
    labels = engine.labels(tag)
    for key, want in (("version", version), ("revision", revision)):
        got = labels.get(f"org.opencontainers.image.{key}")
        if got != want:
            problems.append(f"label org.opencontainers.image.{key} is {got!r}, not {want!r}")
    health = _probe_health(engine, tag, f"mdi-prerelease-{time.time_ns()}")
    if problems:
        raise PrereleaseError("the image is wrong: " + "; ".join(problems))
    return f"image {tag} built with {engine.name}: --version, labels and /health ({health}) OK"


def _probe_health(engine: ContainerEngine, tag: str, name: str) -> str:
    """Start the image's service, migrate its database, ask /health from inside the container."""
    container = engine.run(tag, detach=True, name=name).strip()
    try:
        engine.exec(container, ["market-data-ingestion", "db", "upgrade"])
        return engine.exec(container, ["python", "-c", _HEALTH_PROBE]).strip()
    except CommandError as exc:
        logs = run_command([engine.name, "logs", container], check=False, timeout=60)
        tail = "\n".join((logs.stdout + logs.stderr).strip().splitlines()[-10:])
        raise PrereleaseError(
            f"the service in the image did not answer /health: {exc}"
            + (f"\ncontainer log:\n{tail}" if tail else "")
        ) from None
    finally:
        engine.remove_container(container)


# --- the upgrade check ----------------------------------------------------------------------
def _previous_tag(git: Git, config: ReleaseConfig) -> Version | None:
    now = parse_version(config.current_version)
    earlier = [v for v in versions_from_tags(git.tags(), config.tag_prefix) if v < now]
    return max(earlier, default=None)


def is_first_release(git: Git, config: ReleaseConfig) -> bool:
    """No release is tagged before the current version: there is nothing to upgrade from."""
    return _previous_tag(git, config) is None


def _wheel_version(filename: str) -> Version | None:
    try:
        return parse_version(filename.split("-")[1])
    except (IndexError, UsageError):
        return None


@dataclass(frozen=True)
class PreviousRelease:
    """The release to upgrade from: a version, from an index (``index_url``) or from a tag."""

    version: Version
    index_url: str | None = None
    filename: str = ""  # the wheel's name on the index

    def __str__(self) -> str:
        where = redact(self.index_url) if self.index_url else "built from its git tag"
        return f"{self.version} ({where})"


def find_previous(
    repo: Path, config: ReleaseConfig, index_url: str | None
) -> tuple[PreviousRelease | None, str]:
    """The newest release before the current version: on *index_url*, else the newest tag.

    Returns ``(release, "")``, or ``(None, why there is none)``.
    """
    now = parse_version(config.current_version)
    if index_url:
        served = index.served_files(index_url, config.package)
        older = {
            v: name
            for name in served
            if name.endswith(".whl")
            if (v := _wheel_version(name)) is not None and v < now
        }
        if not older:
            return None, f"{redact(index_url)} holds no {config.package} wheel before {now}"
        newest = max(older)
        return PreviousRelease(newest, index_url, older[newest]), ""
    previous = _previous_tag(Git(repo), config)
    if previous is None:
        return None, (
            f"no release is tagged before {now} ({config.tag_prefix}*) and no index "
            "is given (--index-url, $PRERELEASE_PREVIOUS_INDEX_URL)"
        )
    return PreviousRelease(previous), ""


def fetch_previous(
    run: Runner, previous: PreviousRelease, repo: Path, config: ReleaseConfig, dest: Path
) -> Path:
    """The previous release's wheel in *dest*: downloaded with pip, or built with build."""
    if previous.index_url:
        run(
            "python",
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--index-url",
            previous.index_url,
            "--dest",
            str(dest),
            f"{config.package}=={previous.version}",
        )
        return dest / previous.filename
    tag = previous.version.tag(config.tag_prefix)
    source = dest / "source"
    source.mkdir(parents=True)
    archive = dest / "source.tar"
    run("git", "-C", str(repo), "archive", "--format=tar", "-o", str(archive), tag)
    with tarfile.open(archive) as tar:
        tar.extractall(source)
    run("python", "-m", "build", "--wheel", "--installer", "uv", "--outdir", str(dest), str(source))
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise PrereleaseError(f"building {tag} made no wheel in {dest}")
    return wheels[0]


@dataclass(frozen=True)
class UpgradeReport:
    old_version: str
    new_version: str
    old_revision: str
    new_revision: str
    symbols: dict[str, int]

    def __str__(self) -> str:
        return (
            f"upgrade {self.old_version} -> {self.new_version}: database revision "
            f"{self.old_revision} -> {self.new_revision}; {sum(self.symbols.values())} bars "
            f"of {len(self.symbols)} symbols read back intact"
        )


def _last_word(text: str) -> str:
    words = text.split()
    return words[-1] if words else ""


def upgrade_check(
    run: Runner,
    venv: Path,
    old_wheel: Path,
    new_wheel: Path,
    new_version: str,
    workdir: Path,
    python: str = sys.executable,
) -> UpgradeReport:
    """Old release in a fresh venv with data in it; new wheel over it, migrated; data intact."""
    db = workdir / "upgrade.sqlite3"
    env = {"MDI_DB_PATH": str(db), "MDI_DATABASE_URL": f"sqlite:///{db}"}
    exe = str(venv / "bin" / "market-data-ingestion")

    def cli(*args: str) -> str:
        return run(exe, *args, env=env)

    def snapshot() -> tuple[dict[str, int], dict[str, Any]]:
        symbols = {
            name: int(count)
            for name, count in (
                line.split() for line in cli("symbols").splitlines() if line.strip()
            )
        }
        return symbols, {name: json.loads(cli("bars", name, "--json")) for name in symbols}

    run("uv", "venv", "--python", python, str(venv))
    run("uv", "pip", "install", "--python", str(venv / "bin" / "python"), str(old_wheel))
    old_version = _last_word(cli("--version"))
    cli("db", "upgrade")
    cli("ingest", "--sample")
    old_revision = _last_word(cli("db", "current"))
    symbols, bars = snapshot()
    if not symbols:
        raise PrereleaseError(f"{old_version} ingested its sample, yet `symbols` lists nothing")

    run("uv", "pip", "install", "--python", str(venv / "bin" / "python"), str(new_wheel))
    reported = _last_word(cli("--version"))
    if reported != new_version:
        raise PrereleaseError(
            f"after installing {new_wheel.name} over {old_version}, "
            f"--version reports {reported!r}, not {new_version}"
        )
    cli("db", "upgrade")
    new_revision = _last_word(cli("db", "current"))
    after_symbols, after_bars = snapshot()
    problems = [
        f"{name}: {count} bars before, {after_symbols.get(name, 0)} after"
        for name, count in symbols.items()
        if after_symbols.get(name) != count
    ]
    for name, rows in bars.items():
        for i, (old, new) in enumerate(zip(rows, after_bars.get(name, []), strict=False)):
            changed = {
                key: (value, new.get(key)) for key, value in old.items() if new.get(key) != value
            }
            if changed:
                problems.append(f"{name} bar {i} changed: {changed}")
                break
    if problems:
        raise PrereleaseError("data did not survive the upgrade: " + "; ".join(problems))
    return UpgradeReport(old_version, new_version, old_revision, new_revision, symbols)
