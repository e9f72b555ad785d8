"""A chain: one release interrupted again and again, each rerun taking it a step further.

Each :class:`Link` is one run of the same command: held at a point and killed there (a hook, a
shim, or a stand-in holding the request), or met by a fault (armed before the run, healed
after it). The run after a link starts in the same clone, or in a fresh one (an empty state
directory and, with *no_images*, no local image: another machine). The last run has nothing in
its way and must finish: the release converged.
"""

from __future__ import annotations

__all__ = ["Chain", "Link", "run_chain"]

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from release_engine.standins.github_faults import Hold

from .hold import Holds, Point, arrived, reached
from .world import Run, World, git


@dataclass
class Link:
    """One interrupted run. *check* looks at the clone after the kill and says what is wrong
    (proving the kill landed where meant); *must_run* is a child command line (regex) the run
    must have started, e.g. the twine check a rerun must not skip."""

    name: str
    point: Point | None = None
    hold: Callable[[World], Hold] | None = None
    fault: Callable[[World], None] | None = None
    heal: Callable[[World], None] | None = None
    fresh: bool = False
    check: Callable[[Path], str | None] | None = None
    must_run: str = ""
    forbidden: str = ""  # a phrase the run's output must not hold

    @property
    def refuses(self) -> bool:
        """A git hook that fails once (a fault), rather than a point to kill at."""
        return self.point is not None and self.point.spec.startswith("refuse:")


@dataclass
class Chain:
    """What a chain did: runs, the problems seen on the way, and the last run."""

    tried: int = 0
    problems: list[str] = field(default_factory=list)
    final: Run | None = None
    clone: Path | None = None

    @property
    def converged(self) -> bool:
        return self.final is not None and self.final.code == 0


def run_chain(
    world: World,
    holds: Holds,
    args: list[str],
    links: list[Link],
    *,
    clone: Path | None = None,
    no_images: Callable[[], None] = lambda: None,
    env: dict[str, str] | None = None,
) -> Chain:
    """Run *args* once per link, then once more to the end."""
    chain = Chain(clone=clone or world.clone())
    for link in [*links, Link("final")]:
        if link.fresh:
            chain.clone = world.clone()
            no_images()
        assert chain.clone is not None
        run_env, marker = holds.env(env or world.env(), link.point)
        held = link.hold(world) if link.hold else None
        if link.fault:
            link.fault(world)
        watch: Iterator[str] | None = None
        if held is not None:
            watch = arrived(held, link.name)
        elif link.point is not None and not link.refuses:
            watch = reached(marker)
        run = world.run(chain.clone, args, env=run_env, kill_when=watch)
        if held is not None:
            held.release.set()
        if link.heal:
            link.heal(world)
        if link.name == "final":
            chain.final = run
            if run.code != 0:
                chain.problems.append(f"final run exit {run.code}: {run.last_line()[:160]}")
            _clone_agrees(chain)
            break
        chain.tried += 1
        _judge(chain, link, run, marker)
    return chain


def _judge(chain: Chain, link: Link, run: Run, marker: Path) -> None:
    said = f"exit {run.code}: {run.last_line()[:160]}"
    if link.refuses:
        if not marker.exists():
            chain.problems.append(f"{link.name}: never reached ({said})")
        elif run.code != 1:
            chain.problems.append(f"{link.name}: a refusal mid-release is exit 1, got {said}")
    elif link.point is not None or link.hold is not None:
        if not run.killed_at:
            chain.problems.append(f"{link.name}: never reached ({said})")
        elif run.killed_at.startswith("timeout"):
            chain.problems.append(f"{link.name}: {run.killed_at}")
    elif link.fault is not None and run.code == 0:
        chain.problems.append(f"{link.name}: the fault went unnoticed (exit 0)")
    elif link.fault is not None and run.code != 1:
        chain.problems.append(f"{link.name}: a fault mid-release is exit 1, got {said}")
    if link.check is not None and chain.clone is not None:
        wrong = link.check(chain.clone)
        if wrong:
            chain.problems.append(f"{link.name}: {wrong}")
    if link.must_run:
        log = marker.with_suffix(".log")
        ran = log.read_text() if log.exists() else ""
        if not re.search(link.must_run, ran):
            chain.problems.append(f"{link.name}: the run did not run {link.must_run!r}")
    if link.forbidden and link.forbidden in run.output:
        chain.problems.append(f"{link.name}: the output says {link.forbidden!r}")


def _clone_agrees(chain: Chain) -> None:
    """After the last run, the clone is not mid-operation and its main is the remote's."""
    clone = chain.clone
    if clone is None:
        return
    left = [n for n in ("MERGE_HEAD", "REVERT_HEAD", "sequencer") if (clone / ".git" / n).exists()]
    if left:
        chain.problems.append(f"clone left mid-operation: {', '.join(left)}")
    git(clone, "fetch", "-q", "origin", check=False)
    local, remote = (
        git(clone, "rev-parse", "main", check=False),
        git(clone, "rev-parse", "origin/main", check=False),
    )
    if local != remote:
        chain.problems.append("local main differs from origin/main after the release")


def has(name: str) -> Callable[[Path], str | None]:
    """A check: ``.git/NAME`` exists (the kill landed inside that operation)."""

    def check(clone: Path) -> str | None:
        return None if (clone / ".git" / name).exists() else f"no .git/{name}: the kill missed"

    return check


def ahead_of_origin(clone: Path) -> str | None:
    """A check: local main has a commit origin/main lacks."""
    count = git(clone, "rev-list", "--count", "origin/main..main", check=False)
    return None if count not in ("", "0") else "local main is not ahead of origin/main"
