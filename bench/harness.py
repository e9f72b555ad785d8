"""Timing and printing for bench/run.py: commands run in alternation, medians, the table.

On a shared 2-core machine one run proves little, so every comparison runs its commands in
rounds, each round in the opposite order of the one before (A B, B A, …), and keeps medians.
A row's ratio is the median of its rounds' own ratios (A's time over B's in the same round):
the machine's speed drifts from one round to the next (one command took 1.43 to 2.29 s within
a run here), and the two runs of one round, neighbours in time, share most of that drift,
which a ratio of two medians keeps (with thirty rounds of equal work: 1.00x to 1.09x).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CACHE",
    "EQUAL_WORK",
    "HISTORY_ROUNDS",
    "Cmd",
    "Row",
    "alternate",
    "info",
    "median",
    "paired_ratio",
    "peer_tool",
    "print_table",
    "row",
    "run_checked",
    "timed",
]

CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "release-bench"))
#: How many times more rounds a row gets whose two sides do the same work (the history rows):
#: their limit sits a few hundredths above 1.00x, inside five rounds' noise (0.95x-1.14x seen).
EQUAL_WORK = 3
#: And the history rows twice that again: their commands keep their bytecode since 41fa8c3,
#: so the same milliseconds of a long history are a larger share of a shorter command.
HISTORY_ROUNDS = 2 * EQUAL_WORK
PEERS = {  # executable -> what PyPI package provides it
    "semantic-release": "python-semantic-release",
    "cz": "commitizen",
    "bump-my-version": "bump-my-version",
    "towncrier": "towncrier",
}


@dataclass
class Cmd:
    """One command to time: its argv, working directory and environment."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str] | None = None
    before: Callable[[], None] | None = None  # untimed set-up run before each timing


@dataclass
class Row:
    measure: str
    ours: float
    peer_label: str
    peer: float
    target: str
    met: bool | None  # None: a row for information, with no target
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios (:func:`paired_ratio`), else of the medians."""
        values = list(self.samples.values())
        if len(values) == 2 and len(values[0]) == len(values[1]) > 0:
            return paired_ratio(values[0], values[1])
        return self.ours / self.peer if self.peer else float("inf")


def paired_ratio(ours: Sequence[float], peer: Sequence[float]) -> float:
    """The median of ``ours[i] / peer[i]``: each round's two runs, measured side by side."""
    return median([a / b if b else float("inf") for a, b in zip(ours, peer, strict=True)])


def row(measure: str, s: Mapping[str, list[float]], ours: str, peer: str, label: str,
        target: str, limit: float) -> Row:  # fmt: skip
    """A row of the table: *ours* against *peer* (medians of *s*, and the median of the rounds'
    ratios); met when that ratio ≤ *limit*."""
    r = Row(measure, median(s[ours]), label, median(s[peer]), target, None,
            {ours: s[ours], peer: s[peer]})  # fmt: skip
    r.met = r.ratio <= limit
    return r


def info(r: Row) -> Row:
    """*r* as a row for information: no target, so neither met nor missed."""
    r.target, r.met = "none (information)", None
    return r


def run_checked(cmd: Cmd) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd.argv), cwd=cmd.cwd, env=dict(cmd.env) if cmd.env else None,
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise RuntimeError(f"{' '.join(cmd.argv)} (in {cmd.cwd}) exited {proc.returncode}:\n{tail}")
    return proc


def timed(cmd: Cmd) -> float:
    if cmd.before is not None:
        cmd.before()
    started = time.perf_counter()
    run_checked(cmd)
    return time.perf_counter() - started


def alternate(cmds: Mapping[str, Cmd | Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Each command *runs* times, in rounds whose order flips every round; the seconds of each.
    One round first is not counted: it warms what a command leaves for its next start (its
    bytecode, the peers' caches, the stand-ins' first answers), for each command alike.

    A value may also be a callable that times something itself and returns seconds.
    """
    names = list(cmds)
    for name in names:  # the warm-up round
        item = cmds[name]
        seconds = timed(item) if isinstance(item, Cmd) else item()
        print(f"    warm-up     {name:<28} {seconds:7.3f} s", file=sys.stderr)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        for name in names if i % 2 == 0 else reversed(names):
            item = cmds[name]
            seconds = timed(item) if isinstance(item, Cmd) else item()
            samples[name].append(seconds)
            print(f"    round {i + 1}/{runs}  {name:<28} {seconds:7.3f} s", file=sys.stderr)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def peer_tool(name: str) -> Path:
    """*name*'s executable in a venv of its own under the cache, made (once) with uv."""
    venv = CACHE / "venvs" / name
    exe = venv / "bin" / name
    if not exe.exists():
        print(f"  installing {PEERS[name]} into {venv}", file=sys.stderr)
        uv = shutil.which("uv") or "uv"
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",  # as pip installs: a peer does not compile at every start
                "--python",
                str(venv / "bin" / "python"),
                PEERS[name],
            ],
            check=True,
        )
    return exe


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def print_table(rows: list[Row], runs: int) -> None:
    header = ("measure", "this project", "peer", "peer median", "ratio", "target", "met")
    lines = [
        (r.measure, _seconds(r.ours), r.peer_label, _seconds(r.peer), f"{r.ratio:.2f}x",
         r.target, {True: "yes", False: "no", None: "n/a"}[r.met])
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    print(
        f"\nMedians of {runs} runs each (rounds: where a row says more); a row's commands "
        "alternated (A B, B A, …) in one run; ratio: the median of the rounds' own ratios."
    )
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)) + " |")
