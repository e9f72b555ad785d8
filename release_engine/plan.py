"""The engine's one idea: observe → plan → act → verify.

Every step looks at the real world and says whether it is done, pending or in conflict, and
lists the actions that would make it done: commands (argument lists) and calls (HTTP requests,
file edits), each able to say what it is. Acting runs exactly those actions; a dry run prints
exactly those actions. ``status``, ``--dry-run``, a resumed run and the final verification are
the same list of steps read four ways.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Protocol

from . import trace
from .errors import ConflictError, ReleaseError, VerificationError
from .proc import Command, acting, in_background, run

if TYPE_CHECKING:
    from .context import ReleaseContext

log = logging.getLogger("release_engine.plan")

__all__ = [
    "Action",
    "Artifact",
    "Call",
    "Fact",
    "ImageDigest",
    "Observation",
    "Outcome",
    "PublishedRelease",
    "ReleaseNotes",
    "Reporter",
    "Status",
    "Step",
    "StepBase",
    "execute",
    "observe_all",
    "observing_each",
    "perform",
    "previewing_each",
]


class Status(str, Enum):
    """What is known of a step: observed (the first five) or done in this run (the last two)."""

    DONE = "done"
    PENDING = "pending"
    CONFLICT = "conflict"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"  # the observation itself failed (an unreachable remote)
    ACTED = "acted"
    WOULD_RUN = "would-run"
    ROLLED_BACK = "rolled-back"  # observed: the release was rolled back, nothing acts again


# --- what a step saw, for the report ------------------------------------------------------
@dataclass(frozen=True)
class Artifact:
    """A distribution file: its local sha256 (if built here) and the one the index serves."""

    filename: str
    sha256: str | None
    served_sha256: str | None


@dataclass(frozen=True)
class ImageDigest:
    ref: str
    digest: str | None


@dataclass(frozen=True)
class PublishedRelease:
    url: str
    body: str


@dataclass(frozen=True)
class ReleaseNotes:
    """The CHANGELOG section of the release, as the tag holds it."""

    text: str


Fact = Artifact | ImageDigest | PublishedRelease | ReleaseNotes


@dataclass(frozen=True)
class Observation:
    status: Status
    detail: str = ""
    facts: tuple[Fact, ...] = ()

    @classmethod
    def done(cls, detail: str = "", facts: Sequence[Fact] = ()) -> Observation:
        return cls(Status.DONE, detail, tuple(facts))

    @classmethod
    def pending(cls, detail: str = "", facts: Sequence[Fact] = ()) -> Observation:
        return cls(Status.PENDING, detail, tuple(facts))

    @classmethod
    def conflict(cls, detail: str) -> Observation:
        return cls(Status.CONFLICT, detail)

    @classmethod
    def skipped(cls, detail: str) -> Observation:
        return cls(Status.SKIPPED, detail)


# --- what a step does ---------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """An action that is not a command: an HTTP request, a file edit. *text* says what it does."""

    text: str
    function: Callable[[], object]

    def render(self) -> str:
        return self.text


Action = Command | Call


#: What a run loads beside its first long command (:func:`_preload`), until it starts.
_waiting_to_load: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "waiting_to_load", default=None
)


def perform(action: Action, ctx: ReleaseContext) -> None:
    """Do one action; a long command streams its output to the run's progress display.
    The run's trace notes it as its dry run shows it (:mod:`release_engine.trace`)."""
    with trace.performing(action.render()):
        if isinstance(action, Call):
            action.function()
        else:
            if action.long:
                _start_loading()
            run(action, progress=ctx.progress if action.long else None)


def _start_loading() -> None:
    waiting = _waiting_to_load.get()
    while waiting:
        in_background(waiting.pop())


class Step(Protocol):
    name: str
    title: str

    def observe(self, ctx: ReleaseContext) -> Observation: ...

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        """What :meth:`act` runs, in order, given what is observed now."""
        ...

    def act(self, ctx: ReleaseContext) -> None: ...

    def preload(self, ctx: ReleaseContext) -> None:
        """Load what :meth:`act` needs that is slow to load (a library's modules); called
        in a thread of its own from the run's first long command on (:func:`_preload`)."""
        ...


class StepBase:
    """A step whose act is its actions, performed in order."""

    name = ""
    title = ""

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        raise NotImplementedError

    def act(self, ctx: ReleaseContext) -> None:
        for action in self.actions(ctx):
            perform(action, ctx)

    def preload(self, ctx: ReleaseContext) -> None:
        """Nothing slow to load, for most steps."""


@dataclass
class Outcome:
    """What happened to one step in one run, with what was seen of it last."""

    name: str
    title: str
    status: Status
    detail: str = ""
    commands: list[str] = field(default_factory=list)
    seconds: float = 0.0
    facts: tuple[Fact, ...] = ()


class Reporter(Protocol):
    def step(self, outcome: Outcome) -> None: ...

    def info(self, message: str) -> None: ...

    def progress(self, line: str) -> None: ...


def observe_all(ctx: ReleaseContext, steps: Sequence[Step]) -> list[tuple[Step, Observation]]:
    """Every step's observation, nothing changed: ``release.status`` and final verification.
    The steps look side by side (:func:`observing_each`); the first error is raised."""
    looking = observing_each(ctx, steps)
    return [(step, seen.result()) for step, seen in zip(steps, looking, strict=True)]


def observing_each(ctx: ReleaseContext, steps: Sequence[Step]) -> list[Future[Observation]]:
    """Each step's observation, started now, all side by side: they only read, the reads two
    steps share run once (:func:`~release_engine.proc.observing`), and most of the time is
    spent waiting for git, the container tools and the remotes. Only while nothing is written."""
    ctx.warm()  # what every step reads of the context, made once before the threads start
    return [in_background(step.observe, ctx) for step in steps]


Preview = tuple[Observation, list[str]]


def previewing_each(ctx: ReleaseContext, steps: Sequence[Step]) -> list[Future[Preview]]:
    """What a dry run shows of each step, started now, side by side: its observation and, for
    a pending step, the actions it would run. A dry run writes nothing, so they may start as
    early as the run likes (while the preflight runs)."""
    ctx.warm()
    return [in_background(_preview, ctx, step) for step in steps]


def _preview(ctx: ReleaseContext, step: Step) -> Preview:
    seen = step.observe(ctx)
    if seen.status is not Status.PENDING:
        return seen, []
    return seen, [action.render() for action in step.actions(ctx)]


def execute(
    ctx: ReleaseContext,
    steps: Sequence[Step],
    reporter: Reporter,
    *,
    dry_run: bool = False,
    after_step: Callable[[str], None] | None = None,
    previews: list[Future[Preview]] | None = None,
    beside_verify: Callable[[], object] | None = None,
) -> list[Outcome]:
    """Act on every pending step in order, re-observing each; then verify them all again.

    A step found in conflict stops the run before it acts. In a dry run nothing acts: each
    pending step reports the actions it would run (*previews*: those already started). Any
    error while a step acts carries the command that resumes the release. *after_step* is
    called with a step's name once it is done (tests interrupt a release there). The outcomes
    carry the final verification's facts. *beside_verify* (a run's own last check, which only
    reads) runs in a thread while every step is observed again; its error is raised once
    they all passed.
    """
    # A dry run writes nothing, so every step is looked at (and its actions listed) at once.
    if dry_run and previews is None:
        previews = previewing_each(ctx, steps)
    # The libraries later steps load, loaded while the run waits for its first long command.
    loading = _waiting_to_load.set(None if dry_run else [partial(_preload, ctx, steps)])
    try:
        return _execute(ctx, steps, reporter, dry_run, after_step, previews, beside_verify)
    finally:
        _waiting_to_load.reset(loading)


def _execute(
    ctx: ReleaseContext,
    steps: Sequence[Step],
    reporter: Reporter,
    dry_run: bool,
    after_step: Callable[[str], None] | None,
    previews: list[Future[Preview]] | None,
    beside_verify: Callable[[], object] | None,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for n, step in enumerate(steps):
        started = time.monotonic()
        try:
            seen, commands = previews[n].result() if previews else (step.observe(ctx), [])
        except ReleaseError as exc:
            # After this run changed something, a failed observation is a failure mid-release
            # (exit code 1, resume); before, it is a refusal that changed nothing (3).
            if not exc.step and any(o.status is Status.ACTED for o in outcomes):
                exc.step = step.name
            raise
        outcome = Outcome(step.name, step.title, seen.status, seen.detail, facts=seen.facts)
        if seen.status is Status.CONFLICT:
            reporter.step(outcome)
            conflict = ConflictError(
                f"{step.title}: {seen.detail}; nothing more was done. Fix it, then resume "
                f"with: {ctx.resume_command}"
            )
            if any(o.status is Status.ACTED for o in outcomes):
                conflict.step = step.name
            raise conflict
        if seen.status is Status.PENDING and dry_run:
            outcome = replace(outcome, status=Status.WOULD_RUN, commands=commands)
            for line in commands:
                trace.note(line)
        elif seen.status is Status.PENDING:
            after = _act(ctx, step)
            outcome = replace(outcome, status=Status.ACTED, detail=after.detail, facts=after.facts)
        outcome.seconds = round(time.monotonic() - started, 2)
        outcomes.append(outcome)
        reporter.step(outcome)
        if after_step is not None and outcome.status is Status.ACTED:
            after_step(step.name)
    if not dry_run:
        beside = None if beside_verify is None else in_background(beside_verify)
        verified = dict(verify(ctx, steps))
        if beside is not None:
            beside.result()
        outcomes = [replace(o, facts=verified[o.name].facts) for o in outcomes]
    return outcomes


def _preload(ctx: ReleaseContext, steps: Sequence[Step]) -> None:
    """Each step's :meth:`~Step.preload`, one after another, in a thread started with the
    run's first long command (the build): most of a release's time is spent waiting for
    builds and uploads, so a second core loads (the SBOM's libraries take 1.5 s to import on
    a 2-core machine) what a step would otherwise load when it acts, without slowing the
    short steps before. A failure here is the step's to meet, where it would have met it
    anyway."""
    for step in steps:
        try:
            step.preload(ctx)
        except Exception:  # the step imports it again when it acts, and says
            log.debug("preloading %s failed", step.name, exc_info=True)


def _act(ctx: ReleaseContext, step: Step) -> Observation:
    resume = f"{step.title} failed; fix the cause above, then resume with: {ctx.resume_command}"
    try:
        with acting():  # nothing read before is trusted while it writes, nor after
            step.act(ctx)
    except ReleaseError as exc:
        exc.resume, exc.step = resume, step.name
        raise
    except OSError as exc:  # a file or socket failed outside any command
        error = ReleaseError(f"{step.title}: {exc}")
        error.resume, error.step = resume, step.name
        raise error from exc
    after = step.observe(ctx)
    if after.status is not Status.DONE:
        unfinished = VerificationError(
            f"{step.title} ran but is observed as {after.status.value} ({after.detail}); "
            f"investigate, then resume with: {ctx.resume_command}"
        )
        unfinished.step = step.name
        raise unfinished
    return after


def verify(ctx: ReleaseContext, steps: Sequence[Step]) -> list[tuple[str, Observation]]:
    """Observe every step again; raise naming each one that is not done."""
    seen = observe_all(ctx, steps)
    wrong = [
        f"{step.title} is {obs.status.value} ({obs.detail})"
        for step, obs in seen
        if obs.status not in (Status.DONE, Status.SKIPPED)
    ]
    if wrong:
        raise VerificationError(
            "final verification failed: "
            + "; ".join(wrong)
            + f". Resume with: {ctx.resume_command}"
        )
    return [(step.name, obs) for step, obs in seen]
