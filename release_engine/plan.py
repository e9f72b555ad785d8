"""The engine's one idea: observe → plan → act → verify.

Every step looks at the real world and says whether it is done, pending or in conflict, and
knows how to do itself. ``status``, ``--dry-run``, a resumed run and the final verification
are the same list of steps read four ways.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from .errors import CommandError, ConflictError, VerificationError

if TYPE_CHECKING:
    from .context import ReleaseContext

__all__ = ["Observation", "Outcome", "Reporter", "Status", "Step", "execute", "observe_all"]


class Status(str, Enum):
    DONE = "done"
    PENDING = "pending"
    CONFLICT = "conflict"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Observation:
    status: Status
    detail: str = ""

    @classmethod
    def done(cls, detail: str = "") -> Observation:
        return cls(Status.DONE, detail)

    @classmethod
    def pending(cls, detail: str = "") -> Observation:
        return cls(Status.PENDING, detail)

    @classmethod
    def conflict(cls, detail: str) -> Observation:
        return cls(Status.CONFLICT, detail)

    @classmethod
    def skipped(cls, detail: str) -> Observation:
        return cls(Status.SKIPPED, detail)


class Step(Protocol):
    name: str
    title: str

    def observe(self, ctx: ReleaseContext) -> Observation: ...

    def act(self, ctx: ReleaseContext) -> None: ...

    def preview(self, ctx: ReleaseContext) -> list[str]:
        """The exact commands or requests :meth:`act` would run, for ``--dry-run``."""
        ...


@dataclass
class Outcome:
    """What happened to one step in one run."""

    name: str
    title: str
    status: str  # done | pending | conflict | skipped | acted | would-run
    detail: str = ""
    commands: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Reporter(Protocol):
    def step(self, outcome: Outcome) -> None: ...

    def info(self, message: str) -> None: ...


def observe_all(ctx: ReleaseContext, steps: Sequence[Step]) -> list[tuple[Step, Observation]]:
    """Every step's observation, nothing changed: ``release.status`` and final verification."""
    return [(step, step.observe(ctx)) for step in steps]


def execute(
    ctx: ReleaseContext,
    steps: Sequence[Step],
    reporter: Reporter,
    *,
    dry_run: bool = False,
    after_step: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Act on every pending step in order, re-observing each; then verify them all again.

    A step found in conflict stops the run before it acts. In a dry run nothing acts: each
    pending step reports the commands it would run. *after_step* is called with a step's name
    once it is done (tests interrupt a release there).
    """
    outcomes: list[Outcome] = []
    for step in steps:
        started = time.monotonic()
        seen = step.observe(ctx)
        if seen.status is Status.CONFLICT:
            outcome = Outcome(step.name, step.title, seen.status.value, seen.detail)
            reporter.step(outcome)
            raise ConflictError(
                f"{step.title}: {seen.detail}; nothing more was done. Fix it, then resume "
                f"with: {ctx.resume_command}"
            )
        if seen.status is not Status.PENDING:
            outcome = Outcome(step.name, step.title, seen.status.value, seen.detail)
        elif dry_run:
            outcome = Outcome(step.name, step.title, "would-run", seen.detail, step.preview(ctx))
        else:
            try:
                step.act(ctx)
            except CommandError as exc:
                raise CommandError(
                    exc.args_,
                    exc.returncode,
                    f"{exc.output}\n{step.title} failed; fix the cause above, then resume with: "
                    f"{ctx.resume_command}",
                ) from None
            after = step.observe(ctx)
            if after.status is not Status.DONE:
                raise VerificationError(
                    f"{step.title} ran but is observed as {after.status.value} ({after.detail}); "
                    f"investigate, then resume with: {ctx.resume_command}"
                )
            outcome = Outcome(step.name, step.title, "acted", after.detail)
        outcome.seconds = round(time.monotonic() - started, 2)
        outcomes.append(outcome)
        reporter.step(outcome)
        if after_step is not None and outcome.status == "acted":
            after_step(step.name)
    if not dry_run:
        verify(ctx, steps)
    return outcomes


def verify(ctx: ReleaseContext, steps: Sequence[Step]) -> None:
    """Observe every step again; raise naming each one that is not done."""
    wrong = [
        f"{step.title} is {seen.status.value} ({seen.detail})"
        for step, seen in observe_all(ctx, steps)
        if seen.status not in (Status.DONE, Status.SKIPPED)
    ]
    if wrong:
        raise VerificationError(
            "final verification failed: "
            + "; ".join(wrong)
            + f". Resume with: {ctx.resume_command}"
        )
