"""How long the pre-release matrix takes with each nox venv backend, cold and warm.

    python bench/matrix.py                                 # the tests-3.10 … tests-3.13 matrix
    python bench/matrix.py --sessions lint typecheck       # any sessions of noxfile.py
    python bench/matrix.py --backends uv --runs 2

For each backend (uv, virtualenv) it times, with real nox:

    cold    a fresh --envdir and empty package caches (UV_CACHE_DIR, PIP_CACHE_DIR and
            virtualenv's app-data all in a new temporary directory): a new machine
    warm    the same caches again, venvs created anew (nox's default): a developer's rerun
    reused  the same venvs, nothing installed (nox -R): the fastest loop while editing

It prints figures only; no test runs it. Downloads come from the package index the machine
is set up for, so cold figures include network time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SESSIONS = ["tests-3.10", "tests-3.11", "tests-3.12", "tests-3.13"]
MODES = ("cold", "warm", "reused")


def nox(backend: str, envdir: Path, caches: Path, sessions: list[str], reuse: bool) -> float:
    """Seconds for one nox run of *sessions*; raises if nox fails."""
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(caches / "uv"),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "VIRTUALENV_OVERRIDE_APP_DATA": str(caches / "virtualenv"),
    }
    argv = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py")]
    argv += ["--envdir", str(envdir), "--force-venv-backend", backend, "-s", *sessions]
    if reuse:
        argv.append("-R")
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise SystemExit(f"nox failed with {backend} ({' '.join(argv)}):\n{tail}")
    return seconds


def bench(backend: str, sessions: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp:
        envdir, caches = Path(tmp) / "envs", Path(tmp) / "caches"
        cold = nox(backend, envdir, caches, sessions, reuse=False)
        warm = nox(backend, envdir, caches, sessions, reuse=False)
        reused = nox(backend, envdir, caches, sessions, reuse=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"cold": cold, "warm": warm, "reused": reused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sessions",
        nargs="+",
        default=DEFAULT_SESSIONS,
        help=f"nox sessions to time (default: {' '.join(DEFAULT_SESSIONS)})",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["uv", "virtualenv"],
        choices=["uv", "virtualenv", "venv"],
        help="venv backends to compare",
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat and keep the best of each")
    args = parser.parse_args()

    print(f"sessions: {' '.join(args.sessions)}", flush=True)
    results: dict[str, dict[str, float]] = {}
    for backend in args.backends:
        runs = [bench(backend, args.sessions) for _ in range(args.runs)]
        results[backend] = {mode: min(r[mode] for r in runs) for mode in MODES}
        print(f"  {backend}: " + ", ".join(f"{m} {results[backend][m]:.1f}s" for m in MODES),
              flush=True)  # fmt: skip

    print(f"\n{'backend':<12}" + "".join(f"{m:>10}" for m in MODES))
    for backend, figures in results.items():
        print(f"{backend:<12}" + "".join(f"{figures[m]:>9.1f}s" for m in MODES))
    if "uv" in results and "virtualenv" in results:
        ratio = {m: results["virtualenv"][m] / results["uv"][m] for m in MODES}
        print(f"{'virtualenv/uv':<12}" + "".join(f"{ratio[m]:>9.1f}x" for m in MODES))


if __name__ == "__main__":
    main()
