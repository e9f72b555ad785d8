"""``inv`` run from a small driver: the same program, with timers or without the semver guard.

    python bench/drive.py [--no-semver] [--timings FILE] -- release --dry-run ...

Run in the clone (its ``tasks.py`` and ``release_engine`` are the ones loaded, as ``inv``
loads them). It imports invoke's ``program`` and calls ``program.run()``, as the ``inv``
console script does, after:

- ``--no-semver``: ``release_engine.semver`` replaced by a module whose guard finds nothing,
  as for a first release (no import of the guard, no git read, no cache read): the dry run
  with the semver guard's work removed, which bench/run.py's ``semver`` row times beside the
  same dry run with its evidence cached;
- ``--timings FILE``: timers wrapped around the engine's phases (the task's first line, the
  engine's imports, opening the release, the preflight, the steps, the status's observations,
  the printed table); FILE gets ``{phase: [start, end]}`` in ``time.time()`` seconds, and
  ``BENCH_T0`` (the parent's clock just before it started this process) is kept as ``start``.

The engine is not changed: functions are wrapped where the commands look them up.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

__all__ = ["main"]

MARKS: dict[str, list[float]] = {}

#: (module, attribute, phase): what --timings wraps once the task has started.
WRAPPED = (
    ("release_engine.engine", "open_release", "open: config, credentials, remotes"),
    ("release_engine.engine", "preflight", "preflight: checks and observations"),
    ("release_engine.engine", "execute", "steps: observed and shown"),
    ("release_engine.engine", "status_and_cadence", "status: every step observed"),
    ("release_engine.output", "print_release", "rendering: the printed table"),
    ("release_engine.output", "print_steps", "rendering: the printed table"),
    ("release_engine.output", "print_cadence", "rendering: the printed table"),
)
#: What the commands load when a task starts (their imports inside functions).
ENGINE = ("release_engine.engine", "release_engine.output", "release_engine.report")


def _timed(phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            span = MARKS.setdefault(phase, [started, started])
            span[1] = time.time()  # a phase called twice (two tables) spans both calls

    return wrapper


def _no_semver() -> None:
    """``release_engine.semver`` as a first release sees it: no evidence, nothing to say."""
    stub = types.ModuleType("release_engine.semver")
    stub.WAIVER = "--allow-semver-break"  # type: ignore[attr-defined]
    stub.preflight_findings = lambda ctx: ([], [])  # type: ignore[attr-defined]
    stub.suggestion = lambda repo, prefix, commit: None  # type: ignore[attr-defined]
    stub.waiver_note = lambda ctx: ""  # type: ignore[attr-defined]
    sys.modules["release_engine.semver"] = stub


def _timers() -> None:
    """Mark the task's first line, then load the engine and wrap its phases."""
    import importlib

    from invoke.tasks import Task

    call = Task.__call__

    def first_line(self: Task[Any], *args: Any, **kwargs: Any) -> Any:
        if "task" not in MARKS:
            MARKS["task"] = [time.time()] * 2
            started = time.time()
            for name in ENGINE:
                importlib.import_module(name)
            MARKS["import: the engine's modules"] = [started, time.time()]
            for module, attribute, phase in WRAPPED:
                owner = sys.modules[module]
                setattr(owner, attribute, _timed(phase, getattr(owner, attribute)))
        return call(self, *args, **kwargs)

    Task.__call__ = first_line  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    timings = None
    while argv and argv[0] != "--":
        option = argv.pop(0)
        if option == "--no-semver":
            _no_semver()
        elif option == "--timings":
            timings = argv.pop(0)
        else:
            print(f"error: unknown option {option}: see bench/drive.py", file=sys.stderr)
            return 2
    sys.path.insert(0, os.getcwd())  # as invoke puts the directory of tasks.py first
    if timings:
        _timers()
    from invoke.main import program

    try:
        program.run(["inv", *argv[1:]])
    finally:
        if timings:
            MARKS["start"] = [float(os.environ.get("BENCH_T0", "0"))] * 2
            MARKS["end"] = [time.time()] * 2
            with open(timings, "w", encoding="utf-8") as out:
                json.dump(MARKS, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
