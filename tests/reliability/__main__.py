"""Run every scenario, print the table and ``reliability: N passed, M failed``; exit 1 on any
failure. ``python -m tests.reliability [--tmp DIR] [--keep]``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from release_engine.cadence import next_version
from release_engine.config import load_config
from release_engine.remotes.registry.container import detect_engine
from release_engine.version import parse_version
from tests.conftest import make_repo

from .corpus import corpus
from .faults import faults
from .hold import Holds
from .kills import baseline, killed
from .leaks import scan
from .report import Case, summary, table
from .world import World


def _versions(source: Path) -> tuple[str, str, str]:
    v1 = next_version(parse_version(load_config(source).current_version), "minor")
    v2 = next_version(v1, "minor")
    return v1.pep440, v2.pep440, next_version(v2, "minor").pep440


def _cases(name: str, future: Future[Any]) -> list[Case]:
    """The cases a scenario returned; a scenario that broke is one failed case, with why."""
    try:
        found = future.result()
    except Exception as exc:  # a broken scenario is reported, never hidden
        where = traceback.extract_tb(exc.__traceback__)[-1]
        why = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        return [Case(f"{name}: scenario broke", problems=[why[:300]])]
    return found if isinstance(found, list) else [found]


def _leaks(world: World, name: str) -> Case:
    found = scan(world)
    case = Case(f"planted secrets: {name}", len(world.secrets()), leaks=len(found))
    case.problems += found[:10]
    return case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability")
    parser.add_argument("--tmp", type=Path, default=None, help="where to work (default: a new one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    root = (args.tmp or Path(tempfile.mkdtemp(prefix="reliability-"))).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    began = time.monotonic()
    source = make_repo(root / "source")
    v1, v2, v3 = _versions(source)
    cases: list[Case] = []
    with ExitStack() as stack:
        registry = None
        if detect_engine() is not None:
            from release_engine.standins.registry import RegistryStandIn

            registry = stack.enter_context(RegistryStandIn(root / "registry"))
        elif os.environ.get("CI"):
            cases.append(Case("container engine present (CI)", problems=["none found"]))
        holds = Holds(root / "holds")
        base = stack.enter_context(World(root / "base", source, registry))
        kill = stack.enter_context(World(root / "kill", source, registry))
        fault = stack.enter_context(World(root / "fault", source, registry, relays=True))
        bad = stack.enter_context(World(root / "corpus", source, registry))
        with ThreadPoolExecutor(max_workers=4) as pool:
            b = pool.submit(baseline, base, v1, v2)
            k = pool.submit(killed, kill, holds, v1, v2, b)
            f = pool.submit(faults, fault, holds, v1, v2, v3, b)
            c = pool.submit(corpus, bad, root / "corpus.txt")
            cases += _cases("killed releases", k) + _cases("faults and races", f)
            cases += _cases("bad-input corpus", c)
        for world, name in ((base, "uninterrupted"), (kill, "killed"), (fault, "faults, races"),
                            (bad, "bad input")):  # fmt: skip
            cases.append(_leaks(world, name))
    text = table(cases)
    elapsed = f"wall time {time.monotonic() - began:.0f} s; work directory {root}"
    (root / "reliability.txt").write_text(f"{text}\n{elapsed}\n{summary(cases)}\n")
    print(text, elapsed, summary(cases), sep="\n", flush=True)
    failed = any(not c.passed for c in cases)
    if not args.keep and not failed:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
