"""Issue #23's benchmark: one table, every row this project beside its peer, measured in one run.

    python bench/run.py [--runs 5] [--only startup peers semver release image history]
                        [--no-image]
    python bench/run.py --only ci        # CI's whole run, once (half an hour), alone
    python bench/run.py --profile        # where one dry run's and one status's time goes

Rows (bench/README.md says what each means and its target):
  startup  `inv --list` vs bare invoke with a one-task tasks.py, same interpreter
  peers    `inv release --dry-run` / `inv release.status` (stand-ins up, every remote observed,
           the semver evidence cached) vs semantic-release --noop; cz bump --dry-run,
           bump-my-version --dry-run, towncrier build --draft beside them, for information
  semver   the first dry run (evidence gathered) vs semantic-release --noop, and a second one
           (evidence cached) vs the same dry run with the semver guard removed
  release  `inv release --rehearse` vs bench/raw_release.sh (same commands, same stand-ins)
  image    a version-only rebuild (cache of the previous version) vs a cold build (--no-cache)
  history  status and dry run on 10,000 commits / 1,000 tags / 500 more fragments vs a clone;
           the semver evidence with 1,000 tags vs the same commits with 4
  ci       `CI=true bash .ci/run` in a clean clone of HEAD vs the issue's 30 minutes

Every row's commands run alternately (A B, B A, …) and the table shows medians. Prints figures
to stdout, progress to stderr; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ci_row import bench_ci, one_run_at_a_time
from harness import HISTORY_ROUNDS, Cmd, Row, alternate, info, peer_tool, print_table, row
from phases import print_profile
from rows_semver import bench_semver, semver_history_rows
from setups import (
    INV,
    ROOT,
    VERSION,
    WAITING,
    generate_history,
    git,
    inv_env,
    peer_repo,
    plain_repo,
    seed_github,
)

from release_engine.rehearsal import StandIns, stand_ins
from release_engine.remotes.registry.container import (
    BASE_IMAGE,
    ContainerEngine,
    build_metadata,
    detect_engine,
    prepare_context,
)

NAMES = ("startup", "peers", "semver", "release", "image", "history")
#: Rows run only when named: `ci` takes half an hour and the whole machine.
ALONE = ("ci",)
PEERS = {  # executable -> its no-op release, in a clone configured for it (setups.peer_repo)
    "semantic-release": ["--noop", "version"],
    "cz": ["bump", "--dry-run", "--yes"],
    "bump-my-version": ["bump", "--dry-run", "--allow-dirty", "--new-version", VERSION],
    "towncrier": ["build", "--draft", "--version", VERSION],
}
#: Peers shown beside the dry run with no target: they do less (no remote, no changelog …).
INFORMATIONAL = {
    "cz": "`cz bump --dry-run`",
    "bump-my-version": "`bump-my-version bump --dry-run`",
    "towncrier": "`towncrier build --draft`",
}
ONE_TASK = 'from invoke import task\n\n\n@task\ndef hello(c):\n    print("hello")\n'


def inv_cmds(repo: Path, s: StandIns, cache: Path) -> dict[str, Cmd]:
    """The dry run and the status of *repo* against the stand-ins, the evidence in *cache*."""
    env, flags = inv_env(s, cache)
    base = ["--version", VERSION, *flags]
    return {
        "dry run": Cmd([INV, "release", "--dry-run", "--skip-prerelease", *base], repo, env),
        "status": Cmd([INV, "release.status", *base], repo, env),
    }


def bench_startup(tmp: Path, runs: int) -> list[Row]:
    repo = plain_repo(tmp / "startup")
    bare = tmp / "bare-invoke"
    bare.mkdir()
    (bare / "tasks.py").write_text(ONE_TASK)
    s = alternate({"inv --list": Cmd([INV, "--list"], repo),
                   "bare invoke": Cmd([INV, "--list"], bare)}, runs)  # fmt: skip
    return [row("`inv --list`", s, "inv --list", "bare invoke", "bare invoke, one-task tasks.py",
                "≤ 1.10x", 1.1)]  # fmt: skip


def bench_peers(tmp: Path, runs: int, s: StandIns) -> list[Row]:
    """The dry run and the status (evidence cached: the warm-up round gathers it) against
    semantic-release; cz, bump-my-version and towncrier beside them, for information."""
    repo = plain_repo(tmp / "ours")
    seed_github(s, repo)
    cmds = inv_cmds(repo, s, tmp / "xdg-peers")
    for name, args in PEERS.items():
        exe = peer_tool(name)
        cmds[name] = Cmd([str(exe), *args], peer_repo(name, tmp / name))
    t = alternate(cmds, runs)
    dry = "`inv release --dry-run` (stand-ins, every remote observed)"
    psr = "`semantic-release --noop version`"
    rows = [
        row(dry, t, "dry run", "semantic-release", psr, "≤ 0.80x", 0.8),
        row("`inv release.status` (stand-ins)", t, "status", "semantic-release", psr,
            "≤ 0.70x", 0.7),
    ]  # fmt: skip
    for name, label in INFORMATIONAL.items():
        rows.append(info(row(dry, t, "dry run", name, label, "", 0)))
    return rows


def bench_release(tmp: Path, runs: int, no_image: bool) -> list[Row]:
    flag = ["--no-image"] if no_image else []
    image = [] if no_image else ["--set", f"base_image={BASE_IMAGE}"]
    empty = [] if WAITING else ["--allow-empty"]  # right after a release: nothing waits
    ours = Cmd([INV, "release", "--version", VERSION, "--rehearse", *empty, *image], ROOT)
    if no_image:  # the image steps skipped, as the raw script skips them
        ours = Cmd([*ours.argv, "--skip-image"], ROOT)
    raw = Cmd([sys.executable, str(ROOT / "bench" / "standins_env.py"), *flag,
               "bash", str(ROOT / "bench" / "raw_release.sh")], ROOT,
              {**os.environ, "VERSION": VERSION})  # fmt: skip
    s = alternate({"rehearsal": ours, "raw script": raw}, runs)
    return [row("rehearsed release" + (" (no image)" if no_image else ""), s, "rehearsal",
                "raw script", "bench/raw_release.sh, same servers", "≤ 1.05x", 1.05)]  # fmt: skip


def bench_image(tmp: Path, runs: int) -> list[Row]:
    name = detect_engine()
    if name is None:
        print("  image: no container engine, row skipped", file=sys.stderr)
        return []
    engine = ContainerEngine(name)
    repo = tmp / "image-repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    ref = f"localhost/mdi-bench-{uuid.uuid4().hex[:10]}"
    refs: list[str] = []
    versions = iter(f"0.1.{n}" for n in range(100, 100 + runs + 1))

    def context_for(version: str | None) -> tuple[Path, dict[str, str]]:
        if version is not None:  # the version-only change of a release, through bump-my-version
            subprocess.run([sys.executable, "-m", "bumpversion", "bump", "--allow-dirty",
                            "--new-version", version], cwd=repo, check=True,
                           capture_output=True)  # fmt: skip
        current = version or git(repo, "describe", "--always")
        out = tmp / f"wheel-{current}"
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--installer", "uv",
                        "--outdir", str(out), str(repo)],
                       check=True, capture_output=True)  # fmt: skip
        (wheel,) = out.glob("*.whl")
        ver = wheel.name.split("-")[1]
        args = build_metadata(ver, git(repo, "rev-parse", "HEAD"), base_image=BASE_IMAGE)
        return prepare_context(wheel, repo / "Dockerfile", tmp / f"context-{current}", args), args

    def build(ctx: Path, args: dict[str, str], cold: bool) -> float:
        tag = f"{ref}:{args['VERSION']}-{len(refs)}"
        refs.append(tag)
        command = engine.build_command(ctx, tags=[tag], build_args=args,
                                       iidfile=tmp / f"iid-{len(refs)}")  # fmt: skip
        argv = list(command.argv)
        argv[2:2] = ["--no-cache"] if cold else []
        seconds, output = _time_argv(argv)
        cached = output.count("Using cache")
        print(f"      {'cold' if cold else 'cached'} build of {tag}: {cached} steps from the cache",
              file=sys.stderr)  # fmt: skip
        return seconds

    base = context_for(None)
    build(*base, cold=False)  # the previous release: its layers are the cache a rebuild uses

    def cold() -> float:
        return build(*base, cold=True)

    def version_only() -> float:
        ctx = context_for(next(versions))  # untimed: bump and wheel
        return build(*ctx, cold=False)

    try:
        s = alternate({"version-only rebuild": version_only, "cold build": cold}, runs)
    finally:
        for tag in refs:
            engine.remove(tag)
    return [row("image rebuild, only the version changed", s, "version-only rebuild",
                "cold build", "cold build (`--no-cache`)", "≤ 0.15x", 0.15)]  # fmt: skip


def _time_argv(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - started, proc.stdout + proc.stderr


def bench_history(tmp: Path, runs: int, s: StandIns) -> list[Row]:
    """Status and dry run on 10,000 commits / 1,000 tags / 500 fragments against a plain
    clone; then the semver evidence there against the same commits with 4 tags."""
    big = generate_history(tmp / "history")
    small = plain_repo(tmp / "plain")
    for repo in (big, small):
        seed_github(s, repo)
    cache = tmp / "xdg-history"
    b, p = inv_cmds(big, s, cache), inv_cmds(small, s, cache)
    t = alternate({"status 10k": b["status"], "status plain": p["status"],
                   "dry run 10k": b["dry run"], "dry run plain": p["dry run"]},
                  HISTORY_ROUNDS * runs)  # fmt: skip
    what = f"10,000 commits, 1,000 tags, +500 fragments ({HISTORY_ROUNDS * runs} rounds)"
    rows = [
        row(f"`inv release.status`, {what}", t, "status 10k", "status plain",
            "same on a clone of this repository", "≤ 1.10x", 1.10),
        row(f"`inv release --dry-run`, {what}", t, "dry run 10k", "dry run plain",
            "same on a clone of this repository", "≤ 1.10x", 1.10),
    ]  # fmt: skip
    few = generate_history(tmp / "history-4", tags=3)
    return rows + semver_history_rows(tmp, runs, big, few)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    every = ", ".join(NAMES + ALONE)
    parser.add_argument("--only", nargs="+", choices=NAMES + ALONE, default=list(NAMES),
                        metavar="NAME", help=f"rows to measure: {every}")  # fmt: skip
    parser.add_argument("--no-image", action="store_true", help="no container image anywhere")
    parser.add_argument("--profile", action="store_true",
                        help="where a dry run's and a status's time goes (no rows)")  # fmt: skip
    args = parser.parse_args()
    if set(args.only) & set(ALONE) and len(args.only) > 1:
        parser.error("ci runs alone (half an hour, both cores): python bench/run.py --only ci")
    # Bytecode as a developer's machine keeps it: some machines (CI's, this workplace's) set
    # PYTHONDONTWRITEBYTECODE, and every command would then compile its modules at every
    # start (ours from the checkout, each peer in its venv), timing the compiler, not them.
    # Not for the ci row: it runs CI's commands in the environment CI's machine gives them.
    if args.only != list(ALONE):
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with one_run_at_a_time(), ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="release-bench-")))
        without = {"registry"} if args.no_image else set()
        if args.profile:
            print_profile(tmp, stack.enter_context(stand_ins(tmp / "standins", without=without)))
            return
        rows = _rows(args, tmp, stack, without)
    print_table(rows, 1 if args.only == list(ALONE) else args.runs)


def _rows(args: argparse.Namespace, tmp: Path, stack: ExitStack, without: set[str]) -> list[Row]:
    """Every row of ``--only``, one after another (the stand-ins started once, if needed)."""
    rows: list[Row] = []
    standins: StandIns | None = None
    for name in args.only:
        print(f"== {name}", file=sys.stderr)
        if name in ("peers", "semver", "history") and standins is None:
            standins = stack.enter_context(stand_ins(tmp / "standins", without=without))
        if name == "startup":
            rows += bench_startup(tmp, args.runs)
        elif name == "peers":
            rows += bench_peers(tmp, args.runs, standins)  # type: ignore[arg-type]
        elif name == "semver":
            rows += bench_semver(tmp, args.runs, standins)  # type: ignore[arg-type]
        elif name == "release":
            rows += bench_release(tmp, args.runs, args.no_image)
        elif name == "image" and not args.no_image:
            rows += bench_image(tmp, args.runs)
        elif name == "history":
            rows += bench_history(tmp, args.runs, standins)  # type: ignore[arg-type]
            for generated in ("history", "history-4"):
                shutil.rmtree(tmp / generated, ignore_errors=True)
        elif name == "ci":
            rows += bench_ci(tmp)
    return rows


if __name__ == "__main__":
    main()
