"""The executor's rules, on steps made up for the purpose: resume sentences, dry runs, verify."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from release_engine.errors import ConflictError, ReleaseError, VerificationError
from release_engine.plan import Action, Call, Observation, Outcome, Status, execute
from release_engine.proc import Command, recording

RESUME = "inv release --version 9.9.9 --set index_url=x"


class Quiet:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def step(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def info(self, message: str) -> None:
        pass

    def progress(self, line: str) -> None:
        pass


def context() -> Any:
    return SimpleNamespace(resume_command=RESUME, progress=lambda line: None)


class Flaky:
    """A step that is pending until it has acted, and whose act may fail in a chosen way."""

    name, title = "flaky", "Do the flaky thing"

    def __init__(self, failure: BaseException | None = None, *, sticks: bool = True) -> None:
        self.failure, self.sticks, self.done = failure, sticks, False

    def observe(self, ctx: Any) -> Observation:
        return Observation.done("did it") if self.done else Observation.pending("not yet")

    def actions(self, ctx: Any) -> list[Action]:
        return [Call("make it so", self._do)]

    def _do(self) -> None:
        if self.failure is not None:
            raise self.failure
        self.done = self.sticks

    def act(self, ctx: Any) -> None:
        for action in self.actions(ctx):
            if isinstance(action, Call):
                action.function()


@pytest.mark.parametrize(
    "failure",
    [ReleaseError("the webhook at hooks.example answered 500"), ConflictError("taken")],
)
def test_any_engine_error_while_acting_carries_the_resume_command(failure: ReleaseError) -> None:
    with pytest.raises(type(failure)) as exc:
        execute(context(), [Flaky(failure)], Quiet())
    assert str(exc.value).startswith(str(failure.args[0]))
    assert f"Do the flaky thing failed; fix the cause above, then resume with: {RESUME}" in str(
        exc.value
    )


def test_an_os_error_while_acting_becomes_one_release_error_with_the_resume_command() -> None:
    with pytest.raises(ReleaseError) as exc:
        execute(context(), [Flaky(PermissionError(13, "Permission denied", "dist"))], Quiet())
    assert "Do the flaky thing: [Errno 13] Permission denied: 'dist'" in str(exc.value)
    assert RESUME in str(exc.value)


def test_a_step_that_acts_but_is_not_done_afterwards_fails_verification() -> None:
    with pytest.raises(VerificationError, match="observed as pending"):
        execute(context(), [Flaky(sticks=False)], Quiet())


def test_a_dry_run_shows_each_action_and_does_none(tmp_path: Path) -> None:
    class Writes(Flaky):
        def actions(self, ctx: Any) -> list[Action]:
            return [Command.of("touch", tmp_path / "x"), Call("tell someone", self._do)]

    reporter = Quiet()
    with recording() as ran:
        outcomes = execute(context(), [Writes()], reporter, dry_run=True)
    assert ran == [] and not (tmp_path / "x").exists()
    assert outcomes[0].status is Status.WOULD_RUN
    assert outcomes[0].commands == [f"touch {tmp_path / 'x'}", "tell someone"]


def test_a_conflict_stops_before_acting() -> None:
    class Taken(Flaky):
        def observe(self, ctx: Any) -> Observation:
            return Observation.conflict("someone else's tag")

    step = Taken(RuntimeError("must not act"))
    with pytest.raises(ConflictError, match="someone else's tag; nothing more was done"):
        execute(context(), [step], Quiet())
