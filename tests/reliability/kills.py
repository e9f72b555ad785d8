"""Killed anywhere, the same command converges: the release, its resume line, and the rollback.

One world releases V1 (with its container image), then V2 (``--skip-image``), then rolls V2
back, with nothing in the way: the baseline. Another world does the same, killed with SIGKILL
to the release's process group inside every slow or multi-part action, each kill followed by a
rerun (in the same clone, or in a fresh clone with no local image: another machine). Its end
state after each stage must equal the baseline's, and no server may have published anything
twice.
"""

from __future__ import annotations

__all__ = ["RELEASE_LINKS", "ROLLBACK_LINKS", "Baseline", "baseline", "killed", "resume_case"]

import shlex
import subprocess
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .chain import Link, ahead_of_origin, has, run_chain
from .hold import Holds, Point
from .report import Case
from .state import Publications, compare, end_state, lock_left, publications
from .world import World, git

GH_RELEASES = r"/repos/[^/]+/[^/]+/releases"
GH_ASSETS = GH_RELEASES + r"/\d+/assets"  # an upload, on the uploads host
BUMP = "bump the version"

RELEASE_LINKS = [
    Link("inside the 'Release vX' commit", Point("commit", "git:prepare-commit-msg:^Release v")),
    Link("tag written, nothing pushed",
         Point("tag", "git:reference-transaction:committed.*refs/tags/v")),
    Link("build: sdist written, wheel building", Point("build", "python:sdist:-m build")),
    Link("twine check --strict running", Point("check", r"python:start:-m twine .*check")),
    Link("image build finished, unreported", Point("image", "shim:podman:after: build "),
         must_run=r"-m twine .*check"),  # the rerun after the check's kill checks again
    Link("git merge --no-ff before its commit",
         Point("merge", "git:prepare-commit-msg:^Merge release"),
         fresh=True, check=has("MERGE_HEAD")),
    Link("git push accepted, client killed",
         Point("push", "git:reference-transaction:committed.*refs/remotes/origin/main")),
    Link("upload: first file stored, unanswered", fresh=True,
         hold=lambda w: w.s.index.hold_upload(after=True)),
    Link("upload: second file stored, unanswered",
         hold=lambda w: w.s.index.hold_upload(after=True)),
    Link("image push vX done, unreported", Point("push", "shim:podman:after: push ")),
    Link("skopeo copy to latest", Point("copy", "shim:skopeo:before: copy "), fresh=True),
    Link("GitHub release created, unanswered",
         hold=lambda w: w.s.github.hold("POST", GH_RELEASES, after=True)),
    Link("GitHub draft: first asset stored, unanswered", fresh=True,
         hold=lambda w: w.s.github.hold("POST", GH_ASSETS, after=True)),
    Link("GitHub draft: second asset stored, unanswered",
         hold=lambda w: w.s.github.hold("POST", GH_ASSETS, after=True)),
    Link("GitHub release published, unanswered",
         hold=lambda w: w.s.github.hold("PATCH", GH_RELEASES + r"/\d+", after=True)),
    Link("inside the 'Deploy vX' commit", Point("deploy", "git:prepare-commit-msg:^Deploy v")),
    Link("webhook received, unanswered", hold=lambda w: w.s.slack.hold_next()),
    Link("Discord message posted, unanswered", hold=lambda w: w.s.discord.hold_next()),
    Link("Mastodon status posted, unanswered", hold=lambda w: w.s.mastodon.hold_next(),
         fresh=True),
    Link("Teams message posted, unanswered", hold=lambda w: w.s.teams.hold_next()),
]  # fmt: skip

ROLLBACK_LINKS = [
    Link("rollback: inside its revert commit",
         Point("revert", "git:prepare-commit-msg:^Roll back v")),
    Link("rollback: right after its revert commit",
         Point("reverted", "git:reference-transaction:committed.*refs/heads/main Roll back v"),
         check=ahead_of_origin),
]  # fmt: skip


def args(world: World, version: str, *extra: str, image: bool = True) -> list[str]:
    return ["release", "--version", version, "--skip-prerelease", *extra,
            *world.flags(image=image)]  # fmt: skip


def v2_args(world: World, version: str) -> list[str]:
    return args(world, version, "--skip-image", "--allow-empty")


def rollback_args(world: World, version: str) -> list[str]:
    return ["rollback", "--version", version, *world.flags()]


def no_images(world: World) -> None:
    """Another machine: no local image of this world."""
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                            capture_output=True, text=True, check=False).stdout.split()  # fmt: skip
    refs = [r for r in listed if world.image and r.startswith(world.image)]
    if refs:
        subprocess.run(["podman", "untag", *refs], capture_output=True, check=False)


@dataclass
class Baseline:
    """The uninterrupted world after each stage: its end state and publications."""

    states: list[dict[str, Any]]
    counts: list[Publications]
    problems: list[str]


def baseline(world: World, v1: str, v2: str) -> Baseline:
    """V1, V2 and the rollback of V2, each run once, nothing in the way."""
    out = Baseline([], [], [])
    stages = [(args(world, v1), [f"v{v1}"]), (v2_args(world, v2), [f"v{v1}", f"v{v2}"]),
              (rollback_args(world, v2), [f"v{v1}", f"v{v2}"])]  # fmt: skip
    for n, (argv, tags) in enumerate(stages):
        run = world.run(world.clone(), argv)
        if run.code != 0:
            out.problems.append(f"baseline {argv[0]} exit {run.code}: {run.last_line()[:160]}")
        out.states.append(end_state(world, tags))
        out.counts.append(publications(world))
        if n == 0:
            world.seed_green(git(world.remote, "rev-parse", "main"))
    return out


def killed(world: World, holds: Holds, v1: str, v2: str, base: Future[Baseline]) -> list[Case]:
    """The release chain, its rerun from a second clone, the resume line, the rollback chain."""
    cases = []
    chain = run_chain(world, holds, args(world, v1), RELEASE_LINKS,
                      no_images=lambda: no_images(world))  # fmt: skip
    b = base.result()
    case = Case(f"release V1 killed at {chain.tried} points", chain.tried, chain.converged)
    case.problems += chain.problems + b.problems
    cases.append(judged(case, world, b, 0, [f"v{v1}"]))
    state = end_state(world, [f"v{v1}"])

    again = Case("finished V1 rerun from a second clone", 1)
    run = world.run(world.clone(), args(world, v1))
    again.converged = run.code == 0
    again.equal = not compare(state, end_state(world, [f"v{v1}"]))
    twice = publications(world).doubled(b.counts[0])
    again.doubled, again.problems = len(twice), twice + lock_left(world.remote)
    if run.code != 0:
        again.fail(f"exit {run.code}: {run.last_line()[:160]}")
    cases.append(again)

    world.seed_green(git(world.remote, "rev-parse", "main"))
    cases.append(resume_case(world, v1, v2, b))

    rollback = run_chain(world, holds, rollback_args(world, v2), ROLLBACK_LINKS)
    case = Case("rollback V2 killed in and after git revert", rollback.tried, rollback.converged)
    case.problems += rollback.problems
    cases.append(judged(case, world, b, 2, [f"v{v1}", f"v{v2}"]))
    return cases


def judged(case: Case, world: World, b: Baseline, stage: int, tags: list[str]) -> Case:
    """*case*, its end state compared with the uninterrupted world's after *stage*, and
    every publication the servers counted more often than there."""
    diff = compare(b.states[stage], end_state(world, tags))
    case.equal = not diff
    case.problems += [f"differs: {d}" for d in diff]
    twice = publications(world).doubled(b.counts[stage])
    case.doubled = len(twice)
    case.problems += twice + lock_left(world.remote)
    return case


def resume_case(world: World, v1: str, v2: str, b: Baseline) -> Case:
    """V2 fails at the webhook (exit 1); the printed resume line, run as printed, keeps every
    flag (``--skip-image``, ``--allow-empty``, every ``--set``) and finishes the release."""
    case = Case("resume line keeps every flag (V2)", 1)
    argv = v2_args(world, v2)
    world.s.slack.fail_next(count=1, status=503)
    first = world.run(world.clone(), argv)
    line = next((ln for ln in first.stderr.splitlines() if "resume with: " in ln), "")
    if first.code != 1 or not line:
        case.fail(f"webhook down: exit {first.code}, no resume line: {first.last_line()[:160]}")
        case.converged = False
        return case
    words = shlex.split(line.split("resume with: ", 1)[1])
    missing = [w for w in argv if w not in words]
    if missing:
        case.fail(f"the resume line lacks {missing[:4]}")
    run = world.run(first.cwd, words[1:])
    case.converged = run.code == 0
    if run.code != 0:
        case.fail(f"the resume line, run: exit {run.code}: {run.last_line()[:160]}")
    return judged(case, world, b, 1, [f"v{v1}", f"v{v2}"])
