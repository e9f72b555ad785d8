"""The pre-release matrix's logic; ``noxfile.py`` parses, logs and calls in here.

Where the built wheel lives, how the sessions of ``nox -s prerelease`` are run and summed up,
and the record of a green run that the release preflight reads (:func:`green_run_for`).
The image check and the upgrade check have modules of their own.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Protocol

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from ..config import ReleaseConfig
from ..errors import ReleaseError, UsageError
from ..proc import read
from ..redact import redact_urls
from ..tools.git import Git

__all__ = [
    "DIST_DIR",
    "GREEN_RUN_DIR",
    "PrereleaseError",
    "Runner",
    "SessionResult",
    "find_wheel",
    "format_summary",
    "forwarded_nox_options",
    "green_run_for",
    "lanes_option",
    "lanes_used",
    "list_sessions",
    "next_version",
    "record_green_run",
    "run_session",
    "run_sessions",
    "stale_sources",
    "towncrier_base",
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
    wanted = (canonicalize_name(package), Version(version))
    found = sorted(
        path
        for path in (repo / DIST_DIR).glob("*.whl")
        if parse_wheel_filename(path.name)[:2] == wanted
    )
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
    listing = json.loads(read([*nox, "-l", "--json", "-t", tag], check=True).stdout)
    return [str(entry["session"]) for entry in listing]


def run_session(
    nox: Sequence[str],
    session: str,
    posargs: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    output: IO[str] | None = None,
) -> SessionResult:
    """Run ``nox -s SESSION`` in a process of its own, output shown live; read its report.

    *env* is added to this process's environment for the nested run. With *output* (a file),
    the nested run writes there, its command line first, instead of to this terminal.
    """
    with tempfile.TemporaryDirectory(prefix="prerelease-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [*nox, "-s", session, "--report", str(report)]
        if posargs:
            argv += ["--", *posargs]
        print(f"nox > {redact_urls(' '.join(argv))}", file=output or sys.stderr, flush=True)
        start = time.monotonic()
        full_env = {**os.environ, **env} if env else None
        # Not proc.run: the nested nox writes to this terminal as it goes (colours included).
        stderr = None if output is None else subprocess.STDOUT
        code = subprocess.run(
            argv, env=full_env, check=False, stdout=output, stderr=stderr
        ).returncode
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


def lanes_option(posargs: Sequence[str], cores: int | None = None) -> int:
    """The lanes of ``nox -s prerelease -- [--lanes 1|2]``: by default 2 when this process may
    use two cores or more (*cores*; ``os.sched_getaffinity`` when None), else 1.

    A UsageError, one line, for anything else in *posargs*.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    lanes = 2 if cores >= 2 else 1
    rest = list(posargs)
    while rest:
        arg = rest.pop(0)
        key, _, value = arg.partition("=")
        if key != "--lanes":
            raise UsageError(f"nox -s prerelease takes --lanes 1 or --lanes 2, not {arg!r}")
        if not value:
            value = rest.pop(0) if rest else ""
        if value not in ("1", "2"):
            raise UsageError(f"--lanes {value!r}: use --lanes 1 (one after another) or --lanes 2")
        lanes = int(value)
    return lanes


def run_sessions(
    nox: Sequence[str],
    names: Sequence[str],
    *,
    every_core: Collection[str] = (),
    lanes: int = 2,
    posargs: Mapping[str, Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[SessionResult]:
    """Run every session of *names* (each as :func:`run_session`); the results in that order.

    With *lanes* 2, the sessions of *every_core* (those that spread over every core, as
    ``pytest -n auto`` does) run one after another, live, while the others run one after
    another beside them, in *names*' order (``build`` before the sessions that install its
    wheel). A session beside writes to a file, shown whole when it ends, between two sessions
    of the live lane: the terminal never mixes two sessions' lines. The sessions beside fill
    the cores the live lane leaves idle (its waits on subprocesses, servers and sleeps).
    With *lanes* 1, or with nothing on one side, every session runs live in *names*' order.
    """
    posargs = posargs or {}
    heavy = [n for n in names if n in every_core]
    light = [n for n in names if n not in every_core]
    if lanes_used(names, every_core, lanes) < 2:
        return [run_session(nox, n, posargs.get(n, ()), env=env) for n in names]

    finished: queue.Queue[tuple[SessionResult, str]] = queue.Queue()

    def beside() -> None:
        for name in light:
            with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
                try:
                    result = run_session(nox, name, posargs.get(name, ()), env=env, output=log)
                except Exception as exc:  # reported as the session's failure, never lost
                    result = SessionResult(name, "failed", 0.0, f"{type(exc).__name__}: {exc}")
                log.seek(0)
                finished.put((result, log.read()))

    def show_finished() -> None:
        while not finished.empty():
            result, text = finished.get()
            results[result.session] = result
            head = f"nox > {result.session} ran beside: {result.result} in {result.seconds:.1f} s"
            print(f"{head}; its output:\n{text.rstrip()}", file=sys.stderr, flush=True)

    results: dict[str, SessionResult] = {}
    side = threading.Thread(target=beside, name="prerelease-beside", daemon=True)
    side.start()
    for name in heavy:
        results[name] = run_session(nox, name, posargs.get(name, ()), env=env)
        show_finished()
    while side.is_alive():
        side.join(timeout=0.5)
        show_finished()
    show_finished()
    return [results[n] for n in names]


def lanes_used(names: Sequence[str], every_core: Collection[str], lanes: int) -> int:
    """How many lanes :func:`run_sessions` runs *names* in: two only when *lanes* allows it
    and both lanes have a session (``every_core`` and the others), else one."""
    heavy = sum(n in every_core for n in names)
    return 2 if lanes >= 2 and 0 < heavy < len(names) else 1


def format_summary(results: Sequence[SessionResult], wall: float | None = None) -> str:
    """The table printed at the end of ``nox -s prerelease``; *wall*: the seconds the whole
    run took, told beside the sum of the sessions' when two lanes made them differ (the
    caller passes it only then: :func:`lanes_used`)."""
    rows = [(r.session, r.result, f"{r.seconds:.1f}", r.reason) for r in results]
    bad = sum(not r.passed for r in results)
    total = (
        "total",
        "all passed" if bad == 0 else f"{bad} not passed",
        f"{sum(r.seconds for r in results):.1f}",
        "" if wall is None else f"in {wall:.1f} s of wall-clock time (two lanes)",
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
