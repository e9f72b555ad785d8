"""bench/run.py's rows of the semver guard's evidence: what a first dry run pays for it, that
a second one pays nothing, and that a long list of tags costs nothing either.

Every clone carries an annotated ``v<current version>`` on an earlier commit whose code
differs from HEAD's (:func:`setups.tag_baseline`), so the guard exports and compares two trees.
The evidence is remembered in ``$XDG_CACHE_HOME/release-engine/semver``: a cold command gets
an ``XDG_CACHE_HOME`` emptied before each of its runs (uncounted), a warm one keeps its own.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from harness import EQUAL_WORK, Cmd, Row, alternate, peer_tool, row
from setups import INV, ROOT, VERSION, inv_env, peer_repo, plain_repo, seed_github

from release_engine.rehearsal import StandIns

__all__ = ["DRIVE", "NOISE", "bench_semver", "semver_history_rows"]

DRIVE = [sys.executable, str(ROOT / "bench" / "drive.py")]
#: The margin a "no slower than" row allows for the machine's noise: the two sides of such a
#: row run the same work, so their medians differ by chance alone (bench/README.md).
NOISE = 0.05
#: How many times more rounds again the cached row gets: a run of a fifth of a second moves by
#: a quarter from one run to the next on this machine (180-290 ms seen), both sides alike. The
#: gathered row gets twice: its two seconds of threads and probes move by a tenth (1.055x and
#: 0.97x in two runs of fifteen rounds).
SHORT = 4
#: Rounds per run of the cached dry run's pair (see bench_semver).
SECOND_ROUNDS = SHORT * EQUAL_WORK


def _emptied(cache: Path) -> Callable[[], None]:
    """A ``before`` hook: *cache* removed, so the command starts with no evidence at all."""
    return functools.partial(shutil.rmtree, cache, ignore_errors=True)


def bench_semver(tmp: Path, runs: int, s: StandIns) -> list[Row]:
    """(a) the first dry run (empty cache) against semantic-release's no-op; (b) a second
    dry run (evidence cached) against the same dry run with the guard removed (bench/drive.py
    ``--no-semver``), both through the same driver."""
    repo = plain_repo(tmp / "semver")
    seed_github(s, repo)
    cold_cache, warm_cache = tmp / "xdg-cold", tmp / "xdg-warm"
    env, flags = inv_env(s, warm_cache)
    args = ["release", "--dry-run", "--skip-prerelease", "--version", VERSION, *flags]
    cold_env = {**env, "XDG_CACHE_HOME": str(cold_cache)}
    psr = peer_repo("semantic-release", tmp / "semver-psr")
    first = alternate(
        {
            "first dry run": Cmd([INV, *args], repo, cold_env, before=_emptied(cold_cache)),
            "semantic-release": Cmd([str(peer_tool("semantic-release")), "--noop", "version"], psr),
        },
        runs,
    )
    # The second pair does the same work but for the guard's cached answer, so its limit sits
    # inside five rounds' noise (1.01x and 1.06x in two runs of the same code): it gets
    # EQUAL_WORK times the rounds, apart from the first pair (a cold run slows what follows),
    # and SHORT times that again since the engine keeps its bytecode: a dry run of 0.4 to
    # 0.6 s moved its fifteen rounds' ratio to 1.05x, the guard's share being about 2 %.
    second = alternate(
        {
            "second dry run": Cmd([*DRIVE, "--", *args], repo, env),
            "dry run, no guard": Cmd([*DRIVE, "--no-semver", "--", *args], repo, env),
        },
        SECOND_ROUNDS * runs,
    )
    t = first | second
    return [
        row("`inv release --dry-run`, first run: semver evidence gathered (empty cache)", t,
            "first dry run", "semantic-release", "`semantic-release --noop version`",
            "≤ 4.00x", 4.0),
        row(f"`inv release --dry-run`, second run: semver evidence cached "
            f"({SECOND_ROUNDS * runs} rounds)", t, "second dry run",
            "dry run, no guard", "same dry run, semver guard removed", "≤ 1.05x", 1.05),
    ]  # fmt: skip


def semver_history_rows(tmp: Path, runs: int, many: Path, few: Path) -> list[Row]:
    """The guard's evidence (``python -m release_engine.semver VERSION``, what ``nox -s
    semver`` runs) in *many* (1,000 tags) and *few* (4 tags): the same commits, the same
    trees; cold (gathered) and warm (read from the cache)."""
    argv = [sys.executable, "-m", "release_engine.semver", VERSION]
    cold: dict[str, Cmd] = {}
    warm: dict[str, Cmd] = {}
    for name, repo in (("1000 tags", many), ("4 tags", few)):
        cache = tmp / f"xdg-cold-{name[:-5]}"
        cold[f"cold {name}"] = Cmd(argv, repo, _xdg(cache), before=_emptied(cache))
        warm[f"warm {name}"] = Cmd(argv, repo, _xdg(tmp / f"xdg-warm-{name[:-5]}"))
    rounds = EQUAL_WORK * runs
    # Each pair alternates on its own: a warm run right after a cold one (two seconds of
    # griffe) pays for what the cold one left behind, more on one side than the other.
    t = alternate(cold, 2 * rounds) | alternate(warm, SHORT * rounds)
    limit, what = 1.0 + NOISE, "same on the same commits with 4 tags"
    target = f"≤ {limit:.2f}x (1.00x + noise)"
    return [
        row(f"semver evidence gathered, 10,000 commits, 1,000 tags ({2 * rounds} rounds)", t,
            "cold 1000 tags", "cold 4 tags", what, target, limit),
        row(f"semver evidence cached, 10,000 commits, 1,000 tags ({SHORT * rounds} rounds)", t,
            "warm 1000 tags", "warm 4 tags", what, target, limit),
    ]  # fmt: skip


def _xdg(cache: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache)}
