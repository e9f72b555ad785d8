"""``python bench/run.py --profile``: where the time of one dry run and one status goes.

Each command runs once uncounted (bytecode written, the semver evidence cached: what a
maintainer's second run finds), then once through bench/drive.py with ``--timings``: the
driver marks the task's first line and wraps the engine's phases (opening the release, the
preflight, the steps, the status's observations, the printed table) where the commands look
them up; this process stamps the start (``BENCH_T0``) and the end. Then once more with
``python -X importtime``: the modules' own import times, summed by top-level package.

Shares: import (interpreter start to the task's first line, and the engine's modules the
task loads), observation (the preflight and the steps' looks, or the status's), rendering
(the printed table), the rest (between the phases, and the interpreter's exit).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from harness import Cmd, run_checked
from rows_semver import DRIVE
from setups import VERSION, inv_env, plain_repo, seed_github

from release_engine.rehearsal import StandIns

__all__ = ["SHARES", "import_times", "phase_times", "print_profile"]

#: Which share each phase counts in.
SHARES = {
    "import: interpreter, invoke and tasks.py": "import",
    "import: the engine's modules": "import",
    "open: config, credentials, remotes": "observation",
    "preflight: checks and observations": "observation",
    "steps: observed and shown": "observation",
    "status: every step observed": "observation",
    "rendering: the printed table": "rendering",
}


def phase_times(repo: Path, env: dict[str, str], args: list[str], out: Path) -> dict[str, float]:
    """Seconds of each phase of ``inv ARGS`` in *repo*, in the order they ran."""
    timings = out / "timings.json"
    started = time.time()
    run_checked(Cmd([*DRIVE, "--timings", str(timings), "--", *args], repo,
                    {**env, "BENCH_T0": repr(started)}))  # fmt: skip
    ended = time.time()
    marks = json.loads(timings.read_text(encoding="utf-8"))
    spans = {"import: interpreter, invoke and tasks.py": (started, marks["task"][0])}
    spans |= {k: tuple(v) for k, v in marks.items() if k not in ("start", "task", "end")}
    seconds = {k: b - a for k, (a, b) in sorted(spans.items(), key=lambda kv: kv[1][0])}
    seconds["exit: threads joined, interpreter ends"] = ended - marks["end"][0]
    seconds["other: between the phases"] = (ended - started) - sum(seconds.values())
    seconds["total"] = ended - started
    return seconds


def import_times(repo: Path, env: dict[str, str], args: list[str]) -> Counter[str]:
    """Microseconds each top-level package took to import (its modules' own time)."""
    argv = [DRIVE[0], "-X", "importtime", *DRIVE[1:], "--", *args]
    proc = run_checked(Cmd(argv, repo, env))
    found: Counter[str] = Counter()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        # Python keeps the nesting of imports in one global: modules imported by two threads
        # at once can get a negative self time (their time counted in another's). Dropped.
        found[name.split(".")[0]] += max(0, int(own))
        found["(negative, dropped)"] -= min(0, int(own))
    return found


def _print(title: str, seconds: dict[str, float], packages: Counter[str]) -> None:
    total = seconds.pop("total")
    print(f"\n{title}: {total:.2f} s from interpreter start to exit")
    print(f"| {'phase':<44} | {'seconds':>7} | {'share':>6} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 8}|")
    for phase, value in seconds.items():
        print(f"| {phase:<44} | {value:7.3f} | {100 * value / total:5.1f}% |")
    shares: dict[str, float] = {}
    for phase, value in seconds.items():
        share = SHARES.get(phase, "the rest")
        shares[share] = shares.get(share, 0.0) + value
    line = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in shares.items())
    print(f"shares: {line}")
    skewed = packages.pop("(negative, dropped)", 0)
    every = sum(packages.values())
    top = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in packages.most_common(5))
    print(f"imports ({every / 1e6:.2f} s under -X importtime), top 5 packages: {top}")
    if skewed:
        print(f"  (threads imported at once: {skewed / 1000:.0f} ms of negative self times "
              "dropped; the modules they overlapped show that much too much)")  # fmt: skip


def print_profile(tmp: Path, s: StandIns) -> None:
    """Profile one dry run and one status of a clone pointed at the stand-ins *s*."""
    repo = plain_repo(tmp / "profile")
    seed_github(s, repo)
    env, flags = inv_env(s, tmp / "xdg-profile")
    env.pop("BENCH_T0", None)
    commands = {
        "inv release --dry-run": ["release", "--dry-run", "--skip-prerelease",
                                  "--version", VERSION, *flags],
        "inv release.status": ["release.status", "--version", VERSION, *flags],
    }  # fmt: skip
    for title, args in commands.items():
        print(f"== profile: {title}", file=sys.stderr)
        run_checked(Cmd([*DRIVE, "--", *args], repo, env))  # uncounted: bytecode, evidence
        seconds = phase_times(repo, env, args, tmp)
        _print(title, seconds, import_times(repo, env, args))
    print(f"\n(one run each, {os.cpu_count()} CPUs; the semver evidence cached by the run before)")
