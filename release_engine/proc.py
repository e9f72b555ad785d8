"""The one way the engine runs a program: an argument list, never a shell string.

:class:`Command` is a command as data: the steps build the very argument lists they run, so a
dry run prints what a real run executes (``Command.render``). :func:`run` executes one,
logging it, capturing its output and raising :class:`CommandError` on failure; given a
*progress* callback it streams the output line by line as it comes (pypa/build's
``_ctx.run_subprocess`` is the model), so a long build or upload never goes silent.
:func:`read` is the same for commands that only look (``git show-ref``, ``podman inspect``):
a dry run may run reads, never writes, and :func:`recording` lets a test see every write.
Redaction is not done here: the output layer applies the run's secrets.

While the world is only looked at (:func:`observing`: a status, a dry run, the steps'
observations), each distinct read runs once and its result is shared, across threads too: a
release asks "which refs does origin have?" or "what is the digest of vX?" from many steps,
and asking git or the registry again gives the same answer as long as nothing was written. Every
write ends that: :func:`run`, and everything a step does while it acts (:func:`acting`), runs
with no memo and forgets what was read before.
"""

from __future__ import annotations

import contextvars
import logging
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from . import trace
from .errors import CommandError

__all__ = [
    "Command",
    "Memo",
    "Progress",
    "acting",
    "in_background",
    "memoized",
    "observing",
    "prefetch",
    "read",
    "recording",
    "run",
]

log = logging.getLogger("release_engine.proc")
Progress = Callable[[str], None]
_recorders: ContextVar[tuple[list[Command], ...]] = ContextVar("recorders", default=())
_memo: ContextVar[Memo | None] = ContextVar("memo", default=None)
_READ_PAUSES = (0.2, 0.5)  # seconds before a transient failure's second and third tries
_READ_TRIES = 1 + len(_READ_PAUSES)


@dataclass(frozen=True)
class Command:
    """A program to run: *argv*, in *cwd*, with *env* added to the environment.

    *secret_env* names variables of *env* whose values :meth:`render` hides.
    *long* marks a command whose output is streamed as progress (builds, uploads, pushes).
    *pass_fds* are file descriptors the program inherits (a credential held in memory, named
    on the command line as ``/dev/fd/N``).
    """

    argv: tuple[str, ...]
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: frozenset[str] = frozenset()
    long: bool = False
    timeout: float | None = 900
    pass_fds: tuple[int, ...] = ()

    @classmethod
    def of(cls, *argv: str | os.PathLike[str], **kwargs: object) -> Command:
        return cls(tuple(os.fspath(a) for a in argv), **kwargs)  # type: ignore[arg-type]

    def render(self) -> str:
        """The command as a shell would show it, environment first, secret values as ``***``."""
        assignments = [
            f"{key}={'***' if key in self.secret_env else shlex.quote(value)}"
            for key, value in sorted(self.env.items())
        ]
        return " ".join([*assignments, shlex.join(self.argv)])


_T = TypeVar("_T")


class Memo:
    """The reads made since the last write, each once: a read asked for again (or while it
    runs, from another thread) gets the same answer. A key is a tuple naming the read: the
    command and its directory, or an adapter's own (``("github", "release", tag)``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[tuple[object, ...], Future[Any]] = {}

    def get(self, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        with self._lock:
            future = self._found.get(key)
            mine = future is None
            if future is None:
                future = self._found[key] = Future()
        if mine:
            try:
                future.set_result(compute())
            except BaseException as exc:  # not remembered: the next read tries again
                with self._lock:
                    self._found.pop(key, None)
                future.set_exception(exc)
        result: _T = future.result()
        return result

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


@contextmanager
def observing() -> Iterator[Memo]:
    """Share each read inside the block (the one already in place, if any)."""
    memo = _memo.get()
    if memo is not None:
        yield memo
        return
    memo = Memo()
    token = _memo.set(memo)
    try:
        yield memo
    finally:
        _memo.reset(token)


@contextmanager
def acting() -> Iterator[None]:
    """No memo inside the block (it writes), and what was read before is forgotten after."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()
    token = _memo.set(None)
    try:
        yield
    finally:
        _memo.reset(token)
        if memo is not None:
            memo.clear()


def memoized(key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    """*compute*, shared as :func:`read` shares a command inside :func:`observing` (an
    adapter's read over HTTP); outside it, or while acting, computed every time."""
    memo = _memo.get()
    return compute() if memo is None else memo.get(key, compute)


def in_background(function: Callable[..., _T], *args: object) -> Future[_T]:
    """Call *function* in a thread of its own, in this context (the memo and the recorders
    too): the result, or the exception, is the future's."""
    future: Future[_T] = Future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            future.set_result(context.run(function, *args))
        except BaseException as exc:  # the caller sees it at .result()
            future.set_exception(exc)

    threading.Thread(target=work, daemon=True).start()
    return future


def prefetch(args: Sequence[str | os.PathLike[str]], *, cwd: Path | str | None = None) -> None:
    """Start the read *args* now, in the background, so that the same :func:`read` later
    (inside the same :func:`observing`) finds it running or done; without a memo, nothing."""
    if _memo.get() is not None:
        in_background(lambda: read(args, cwd=cwd))


@contextmanager
def recording() -> Iterator[list[Command]]:
    """Collect every command :func:`run` executes inside the block (reads are not written)."""
    found: list[Command] = []
    token = _recorders.set((*_recorders.get(), found))
    try:
        yield found
    finally:
        _recorders.reset(token)


def run(
    args: Command | Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = 900,
    progress: Progress | None = None,
    record: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run *args* and return the completed process; on failure with *check*, raise.

    *args* is a :class:`Command`, or an argument list with *cwd*, *env* and *timeout*.
    With *progress*, each output line is passed to it as it is printed. *record* False: the
    engine's own bookkeeping (the records of what was sent), not an action of a step.
    """
    command = args if isinstance(args, Command) else _command(args, cwd, env, timeout)
    for found in _recorders.get() if record else ():
        found.append(command)
    trace.written(command.render())  # a write outside any action shows in the run's trace
    memo = _memo.get()
    if memo is not None:  # a write: what was read before may have changed
        memo.clear()
    return _execute(command, check=check, input=input, progress=progress)


def read(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | str | None = None,
    check: bool = False,
    timeout: float | None = 120,
    pass_fds: tuple[int, ...] = (),
    transient: Callable[[subprocess.CompletedProcess[str]], bool] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command that only looks at the world; never recorded as a write. Inside
    :func:`observing`, the same read (argument list and directory) runs once.

    *transient*: a failed read it is true of is run again, up to :data:`_READ_TRIES` times in
    all, a little apart (a tool whose store another process is changing at that moment); the
    tries are one read, shared as one inside :func:`observing`.
    """
    command = replace(_command(args, cwd, None, timeout), pass_fds=pass_fds)

    def execute() -> subprocess.CompletedProcess[str]:
        proc = _execute(command, check=False, input=None, progress=None)
        for pause in _READ_PAUSES:
            if proc.returncode == 0 or transient is None or not transient(proc):
                break
            log.debug("transient failure of %s, read again: %s", command.render(), proc.stderr)
            time.sleep(pause)
            proc = _execute(command, check=False, input=None, progress=None)
        return proc

    memo = _memo.get()
    if memo is None:
        proc = execute()
    else:
        proc = memo.get((command.argv, str(command.cwd or os.getcwd())), execute)
    if check and proc.returncode != 0:
        raise CommandError(command.argv, proc.returncode, (proc.stdout or "") + (proc.stderr or ""))
    return proc


def _command(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path | str | None,
    env: Mapping[str, str] | None,
    timeout: float | None,
) -> Command:
    return Command(
        tuple(os.fspath(a) for a in args),
        Path(cwd) if cwd is not None else None,
        dict(env or {}),
        timeout=timeout,
    )


def _execute(
    command: Command, *, check: bool, input: str | None, progress: Progress | None
) -> subprocess.CompletedProcess[str]:
    argv = list(command.argv)
    log.debug("$ %s", command.render())
    full_env = {**os.environ, **command.env} if command.env else None
    try:
        if progress is None:
            proc = subprocess.run(
                argv,
                cwd=command.cwd,
                env=full_env,
                input=input,
                text=True,
                capture_output=True,
                timeout=command.timeout,
                check=False,
                pass_fds=command.pass_fds,
            )
        else:
            proc = _stream(argv, command, full_env, progress)
    except FileNotFoundError as exc:
        raise CommandError(argv, 127, f"{argv[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, -9, f"timed out after {exc.timeout} s") from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, (proc.stdout or "") + (proc.stderr or ""))
    return proc


def _stream(
    argv: list[str], command: Command, env: Mapping[str, str] | None, progress: Progress
) -> subprocess.CompletedProcess[str]:
    """Run *argv* with stdout and stderr merged, each line handed to *progress* as it comes."""
    lines: list[str] = []
    with subprocess.Popen(
        argv,
        cwd=command.cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        pass_fds=command.pass_fds,
    ) as proc:
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(command.timeout, kill) if command.timeout is not None else None
        if timer is not None:
            timer.start()
        try:
            for line in proc.stdout or ():
                lines.append(line)
                progress(line.rstrip("\n"))
            returncode = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
        if expired.is_set():
            raise subprocess.TimeoutExpired(argv, command.timeout or 0)
    return subprocess.CompletedProcess(argv, returncode, "".join(lines), "")
