"""Reads shared while only observing: once each, across threads, forgotten at every write."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

from release_engine.proc import acting, in_background, memoized, observing, prefetch, read, run


def counter(tmp_path: Path) -> tuple[list[str], Path]:
    """A command that appends a line to a file each time it runs, and prints how many."""
    log = tmp_path / "runs"
    log.touch()
    argv = ["sh", "-c", f'echo x >> "{log}"; wc -l < "{log}"']
    return argv, log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines())


def test_outside_observing_every_read_runs(tmp_path: Path) -> None:
    argv, log = counter(tmp_path)
    read(argv)
    read(argv)
    assert runs(log) == 2


def test_inside_observing_a_read_runs_once_until_something_is_written(tmp_path: Path) -> None:
    argv, log = counter(tmp_path)
    with observing():
        first, again = read(argv).stdout, read(argv).stdout
        assert first == again and runs(log) == 1
        assert read(argv, cwd=tmp_path).stdout != first  # another directory: another read
        run(["true"])  # a write: what was read may have changed
        assert read(argv).stdout != first
    assert runs(log) == 3


def test_while_acting_nothing_is_shared_and_after_it_nothing_is_trusted(tmp_path: Path) -> None:
    argv, log = counter(tmp_path)
    with observing():
        read(argv)
        with acting():
            read(argv)
            read(argv)
        read(argv)
    assert runs(log) == 4


def test_threads_share_a_read_started_in_the_background(tmp_path: Path) -> None:
    argv, log = counter(tmp_path)
    slow = ["sh", "-c", f'sleep 0.3; echo x >> "{tmp_path / "slow"}"']
    (tmp_path / "slow").touch()
    with observing():
        prefetch(slow)  # started now; the read below waits for it instead of running it again
        seen = [in_background(read, argv) for _ in range(8)]
        assert len({s.result().stdout for s in seen}) == 1 and runs(log) == 1
        read(slow)
    assert runs(tmp_path / "slow") == 1


def test_a_failed_read_is_not_remembered(tmp_path: Path) -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def flaky() -> int:
        with lock:
            calls.append(1)
            if len(calls) == 1:
                raise OSError("the first one fails")
            return len(calls)

    with observing():
        with pytest.raises(OSError):
            memoized(("flaky",), flaky)
        assert memoized(("flaky",), flaky) == 2 and memoized(("flaky",), flaky) == 2
    assert len(calls) == 2


def flaky_command(tmp_path: Path, fails: int, said: str) -> tuple[list[str], Path]:
    """A command that fails its first *fails* runs, saying *said* on stderr, then succeeds."""
    log = tmp_path / "runs"
    log.touch()
    script = (
        f'echo x >> "{log}"; n=$(wc -l < "{log}"); '
        f'if [ "$n" -le {fails} ]; then echo "{said}" >&2; exit 125; fi; echo ok'
    )
    return ["sh", "-c", script], log


@pytest.mark.parametrize("shared", [False, True])
def test_a_transient_failure_is_read_again_as_one_read(tmp_path: Path, shared: bool) -> None:
    argv, log = flaky_command(tmp_path, 2, "Error: layer not known")
    with observing() if shared else contextlib.nullcontext():
        proc = read(argv, transient=lambda p: "layer" in p.stderr)
        assert proc.returncode == 0 and proc.stdout == "ok\n" and runs(log) == 3
        if shared:  # the three tries were one read, shared as one
            assert read(argv, transient=lambda p: "layer" in p.stderr).stdout == "ok\n"
            assert runs(log) == 3


def test_a_failure_that_is_not_transient_is_read_once(tmp_path: Path) -> None:
    argv, log = flaky_command(tmp_path, 5, "Error: image not known")
    proc = read(argv, transient=lambda p: "layer" in p.stderr)
    assert proc.returncode == 125 and runs(log) == 1


def test_a_transient_failure_that_lasts_is_tried_three_times(tmp_path: Path) -> None:
    argv, log = flaky_command(tmp_path, 5, "Error: layer not known")
    proc = read(argv, transient=lambda p: "layer" in p.stderr)
    assert proc.returncode == 125 and runs(log) == 3  # three tries in all, then the failure
