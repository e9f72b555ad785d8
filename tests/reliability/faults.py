"""Transient faults, each remote failing once in one release, and releases racing each other.

All the faults are armed, each once, before one release starts: the push refused once, the
index down while a file is sent, then answering 503 before storing and after storing, the
registry going down halfway through the push, GitHub 502 and 500-after-create, the webhook
down. A run a fault stops exits 1 and is rerun (what is down comes back up); a run that absorbs
one goes on to meet the next. The last run finishes, every fault was met, and the end state
equals the uninterrupted release's. A 503 whose upload was stored
must never make the engine say to bump the version.

Then two clones release the next version at the same moment: one is refused before changing
anything, with the holder named, and the other finishes. Then two CI-like fresh checkouts
(GitHub Actions runs of the release workflow) do the same with the version after.
"""

from __future__ import annotations

__all__ = ["arm", "faults", "race_case"]

from concurrent.futures import Future
from pathlib import Path

from .hold import Holds, Point
from .kills import BUMP, GH_RELEASES, Baseline, args
from .report import Case
from .state import compare, end_state, lock_left, publications, snapshot
from .world import World, git


def arm(w: World) -> None:
    """Every fault, each once, armed before the first run: a run that absorbs one (a retry)
    goes on to meet the next, and a run that one stops is rerun until all were met."""
    assert w.index_relay is not None and w.registry_relay is not None
    w.index_relay.trip(needle=b'filename="')  # down while a file is being sent
    w.s.index.fail_uploads(503)  # then 503 before storing
    w.s.index.fail_uploads(503, after=True)  # then 503 after storing
    w.registry_relay.trip(after_bytes=2_000_000)  # down halfway through the image push
    w.s.github.fail(502, method="POST", path=GH_RELEASES)
    w.s.github.fail(500, method="POST", path=GH_RELEASES, after=True)
    w.s.slack.fail_next(1, 503)


def heal(w: World) -> None:
    """What is down comes back up after each run."""
    for relay in (w.index_relay, w.registry_relay):
        if relay is not None:
            relay.up()


def unmet(w: World, refused: Path) -> list[str]:
    """The faults no run met (armed, never given): a fault placed where nothing goes."""
    s = w.s
    posts = [
        e.status for e in s.github.exchanges if e.method == "POST" and e.path.endswith("/releases")
    ]
    found = {
        "git push refused once": refused.exists(),
        "index down at an upload": bool(w.index_relay and w.index_relay.trips),
        "index 503 before/after storing": not s.index._upload_faults,
        "registry down mid-push": bool(w.registry_relay and w.registry_relay.trips),
        "GitHub 502 on create": 502 in posts,
        "GitHub 500 after create": 500 in posts,
        "webhook down": not s.slack._failures,
    }
    return [name for name, met in found.items() if not met]


FAULTS = 8


def faults(
    world: World, holds: Holds, v1: str, v2: str, v3: str, base: Future[Baseline]
) -> list[Case]:
    """The faults on V1, then the two races on V2 and V3."""
    env, refused = holds.env(world.env(), Point("refused", "refuse:pre-push:refs/tags/v"))
    arm(world)
    clone, runs = world.clone(), []
    for _ in range(FAULTS + 2):
        runs.append(world.run(clone, args(world, v1), env=env))
        heal(world)
        if runs[-1].code == 0:
            break
    assert world.index_relay is not None and world.registry_relay is not None
    world.index_relay.trip()  # disarmed, whatever was not met
    world.registry_relay.trip()
    b = base.result()
    case = Case(f"release V1 through {FAULTS} transient faults", FAULTS, runs[-1].code == 0)
    case.problems += [f"fault never met: {name}" for name in unmet(world, refused)]
    for n, run in enumerate(runs, 1):
        if run.code not in (0, 1):
            case.fail(f"run {n}: a fault mid-release is exit 1, got {run.code}: "
                      f"{run.last_line()[:140]}")  # fmt: skip
        if BUMP in run.output:
            case.fail(f"run {n} says {BUMP!r}: {run.last_line()[:140]}")
    if runs[-1].code != 0:
        case.fail(f"not finished after {len(runs)} runs: {runs[-1].last_line()[:140]}")
    diff = compare(b.states[0], end_state(world, [f"v{v1}"]))
    case.equal = not diff
    case.problems += [f"differs: {d}" for d in diff]
    twice = publications(world, created_by_fault=1).doubled(b.counts[0])
    case.doubled = len(twice)
    case.problems += twice + lock_left(world.remote)
    cases = [case]
    world.seed_green(git(world.remote, "rev-parse", "main"))
    cases.append(race_case(world, v2, ci=False))
    world.seed_green(git(world.remote, "rev-parse", "main"))
    cases.append(race_case(world, v3, ci=True))
    return cases


def race_case(world: World, version: str, *, ci: bool) -> Case:
    """Two releases of *version* started together: exactly one finishes, the other is refused
    up front (exit 3, the holder named, its clone untouched), and nothing is published twice."""
    name = "two CI-like fresh checkouts racing" if ci else "two clones racing"
    case = Case(f"{name} (V{'3' if ci else '2'})", 2)
    before = publications(world, created_by_fault=1)
    argv = [*args(world, version, "--skip-image", "--allow-empty")]
    # What the leak scan reads: every library's DEBUG log (invoke's --debug sends the root
    # logger to stderr: urllib3, the GitHub client, slack_sdk …), and the --json report.
    argv = [*argv, "--json"] if ci else ["--debug", *argv]
    jobs = []
    for n in (1, 2):
        clone = world.clone(f"race-{version}-{n}")
        env = world.env()
        if ci:  # a GitHub Actions runner: fresh checkout, its own run
            env |= {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": f"{9000 + n}",
                    "GITHUB_RUN_ATTEMPT": "1",
                    "GITHUB_REPOSITORY": world.s.github.repository}  # fmt: skip
        jobs.append((clone, argv, env))
    snaps = [snapshot(world, clone)["clone_refs"] for clone, _, _ in jobs]
    runs = world.race(jobs)
    codes = sorted(r.code or 0 for r in runs)
    case.converged = codes == [0, 3]
    if not case.converged:
        case.fail(f"exit codes {[r.code for r in runs]}, want one 0 and one 3: "
                  + " / ".join(r.last_line()[:100] for r in runs))  # fmt: skip
    for run, (clone, _, _), snap in zip(runs, jobs, snaps, strict=True):
        if run.code != 3:
            continue
        line = run.last_line()
        if "lock" not in line or "release v" not in line:
            case.fail(f"the refusal does not name the holder: {line[:160]}")
        if snapshot(world, clone)["clone_refs"] != snap:
            case.side_effects += 1
            case.fail("the refused run changed its clone")
    after = publications(world, created_by_fault=1)
    for field, got in (("release_creations", after.release_creations - before.release_creations),
                       ("notifications", after.notifications - before.notifications)):  # fmt: skip
        if got != 1:
            case.doubled += int(got > 1)
            case.fail(f"{got} {field.replace('_', ' ')} for one release")
    if after.max_stores > 1:
        case.doubled += 1
        case.fail(f"a file stored {after.max_stores} times")
    case.problems += lock_left(world.remote)
    return case
