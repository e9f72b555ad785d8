"""How long a rehearsed release takes, step by step, and how long a rerun takes to verify it.

    python bench/rehearsal.py [--version 0.2.0] [--no-image]

Prints figures; asserts nothing. The rerun (a finished release observed again) is what a
maintainer pays to resume or verify, so it should stay a small fraction of the release.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import needs_standins  # noqa: E402, F401  # the stand-ins' libraries, or one line

from release_engine.context import Options  # noqa: E402
from release_engine.engine import release  # noqa: E402
from release_engine.plan import Outcome  # noqa: E402
from release_engine.rehearsal import (  # noqa: E402
    clone_for_rehearsal,
    rehearsal_context,
    stand_ins,
)
from release_engine.version import parse_version  # noqa: E402


class Quiet:
    def step(self, outcome: Outcome) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def progress(self, line: str) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="0.2.0")
    parser.add_argument("--no-image", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        started = time.monotonic()
        with stand_ins(
            work_dir / "standins", without={"registry"} if args.no_image else set()
        ) as s:
            up = time.monotonic() - started
            work = clone_for_rehearsal(ROOT, work_dir)
            options = Options(skip_image=args.no_image)
            timings = {}
            for label, dry in (("dry run", True), ("release", False), ("rerun", False)):
                t0 = time.monotonic()
                report = release(
                    rehearsal_context(work, parse_version(args.version), s, options=options),
                    Quiet(),
                    dry_run=dry,
                )
                timings[label] = (time.monotonic() - t0, report.steps)
    print(f"stand-ins up: {up:6.2f} s")
    for label, (seconds, _) in timings.items():
        print(f"{label:<12} {seconds:6.2f} s")
    print("\nper step (release):")
    for outcome in timings["release"][1]:
        print(f"  {outcome.name:<18} {outcome.status:<8} {outcome.seconds:6.2f} s")


if __name__ == "__main__":
    main()
