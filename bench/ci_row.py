"""bench/run.py's ``ci`` row: CI's whole run, once, end to end, against issue #23's limit.

    python bench/run.py --only ci

Clones this repository's HEAD into a temporary directory (as CI gets a clean clone of main)
and runs ``CI=true bash .ci/run`` there once: the bootstrap, then ``nox -s prerelease``. It
takes about half an hour and both cores, so it never runs beside another row: bench/run.py
runs it only when it is the one row named, and every bench/run.py holds one lock (a second
run waits for nothing: it says so and stops). ``BENCH_CI_COMMAND`` replaces ``bash .ci/run``
(a shell command, run in the clone): ``BENCH_CI_COMMAND=true`` checks this code path in a
second. The environment is this process's own, with ``CI=true``: a machine that sets
``PYTHONDONTWRITEBYTECODE`` (CI's, this workplace's) runs it so, as CI does (the other rows
drop it; until 2026-12-08 this row did too).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import CACHE, Row, row
from setups import ROOT, git

__all__ = ["LIMIT", "bench_ci", "one_run_at_a_time"]

#: Issue #23: `.ci/run` on a fresh 2-core machine within 30 minutes, end to end.
LIMIT = 30 * 60.0


def bench_ci(tmp: Path) -> list[Row]:
    """One timed run of CI's script in a clean clone of HEAD, on branch main."""
    clone = tmp / "ci"
    head = git(ROOT, "rev-parse", "HEAD")
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(clone)], check=True)
    git(clone, "checkout", "--quiet", "-B", "main", head)
    command = shlex.split(os.environ.get("BENCH_CI_COMMAND") or "bash .ci/run")
    env = {**os.environ, "CI": "true"}
    print(f"  {' '.join(command)} in {clone} (HEAD {head[:12]})", file=sys.stderr)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=clone, env=env, check=False)
    seconds = time.perf_counter() - started
    print(f"    `.ci/run` exited {proc.returncode} after {seconds:.0f} s", file=sys.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} (in {clone}) exited {proc.returncode}")
    samples = {"ci": [seconds], "limit": [LIMIT]}
    return [row("`CI=true bash .ci/run`, a clean clone of HEAD, end to end", samples, "ci",
                "limit", "the issue's limit (30 min)", "≤ 1.00x (30 min)", 1.0)]  # fmt: skip


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Hold the bench's lock for the whole run: two runs at once time each other."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "run.lock", "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            print(f"error: bench/run.py is running already ({holder}); wait for it to end",
                  file=sys.stderr)  # fmt: skip
            raise SystemExit(3) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        yield
