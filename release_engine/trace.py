"""The run's trace: every write a run makes, in order, as one line each; what a dry run shows.

A real run notes each action it performs (:func:`performing`: a step's command or call, the
remote lock taken and released, the return to the base branch) and every command run outside
an action (:func:`written`, from :func:`release_engine.proc.run`): a write no action names
shows up on its own line, so it cannot hide. A dry run notes each action it prints instead
(:func:`note`). Commands run *inside* an action (the git commands of a conflict resolution,
the records' ``git commit-tree``) belong to that action and are not noted again.

Nothing is noted unless someone listens (:func:`tracing`): the test that proves a dry run is
the run records both traces and compares them line for line
(``tests/engine/test_dry_run_equals_run.py``). Hand-written rather than a logging handler:
the trace needs to know whether a command runs inside an action, which is this run's state
(a context variable, so the threads a run starts share it), not a logger's.
"""

from __future__ import annotations

__all__ = ["note", "performing", "tracing", "written"]

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_trace: ContextVar[list[str] | None] = ContextVar("trace", default=None)
_inside: ContextVar[bool] = ContextVar("inside_action", default=False)


@contextmanager
def tracing() -> Iterator[list[str]]:
    """Collect the trace of everything run inside the block."""
    found: list[str] = []
    token = _trace.set(found)
    try:
        yield found
    finally:
        _trace.reset(token)


def note(line: str) -> None:
    """One action, performed or (in a dry run) shown."""
    found = _trace.get()
    if found is not None:
        found.append(line)


@contextmanager
def performing(line: str) -> Iterator[None]:
    """The block performs the action *line*: noted once, the commands it runs belong to it."""
    if _inside.get():  # an action inside an action is part of it
        yield
        return
    note(line)
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def written(line: str) -> None:
    """A command that writes: noted when no action is under way (it is then one of its own)."""
    if not _inside.get():
        note(line)
