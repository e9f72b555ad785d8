"""The executor's rules, on steps made up for the purpose: resume sentences, dry runs, verify."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from release_engine.errors import ConflictError, ReleaseError, VerificationError
from release_engine.plan import Action, Call, Observation, Outcome, Status, execute, perform
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
    return SimpleNamespace(resume_command=RESUME, progress=lambda line: None, warm=lambda: None)


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


class Unreadable(Flaky):
    """A step whose observation fails: a remote that cannot be read, or a conflict."""

    name, title = "unreadable", "Read the unreadable"

    def __init__(self, failure: ReleaseError | None) -> None:
        super().__init__()
        self.observe_failure = failure

    def observe(self, ctx: Any) -> Observation:
        if self.observe_failure is None:
            return Observation.conflict("v9.9.9 points at another commit")
        raise self.observe_failure


@pytest.mark.parametrize("failure", [ReleaseError("GitHub is unreachable"), None])
def test_a_refusal_before_any_change_exits_3_and_after_a_change_exits_1(
    failure: ReleaseError | None,
) -> None:
    kind = ReleaseError if failure is not None else ConflictError
    with pytest.raises(kind) as first:  # nothing acted yet: a refusal, nothing changed
        execute(context(), [Unreadable(failure)], Quiet())
    assert first.value.exit_code == 3 and first.value.step == ""

    if failure is not None:  # a fresh error object: the first one now carries its step
        failure = ReleaseError(failure.message)
    with pytest.raises(kind) as midway:  # Flaky acted first: the release is under way
        execute(context(), [Flaky(), Unreadable(failure)], Quiet())
    assert midway.value.exit_code == 1 and midway.value.step == "unreadable"


def test_bad_input_exits_2_and_a_failed_verification_1() -> None:
    from release_engine.errors import UsageError

    assert UsageError("'1.2' is not a release version").exit_code == 2
    assert VerificationError("final verification failed").exit_code == 1


class Loading(Flaky):
    """A step whose slow library is loaded (:meth:`preload`) in a thread of its own."""

    def __init__(self, failure: BaseException | None = None) -> None:
        super().__init__()
        self.loaded, self.tried, self.failure_to_load = (
            threading.Event(),
            threading.Event(),
            failure,
        )
        self.threads: list[str] = []

    def preload(self, ctx: Any) -> None:
        self.threads.append(threading.current_thread().name)
        try:
            if self.failure_to_load is not None:
                raise self.failure_to_load
            self.loaded.set()
        finally:
            self.tried.set()


class Waiting(Flaky):
    """A first step whose act runs a long command, then waits for the later step's library."""

    name, title = "waiting", "Wait for the library"

    def __init__(self, later: Loading) -> None:
        super().__init__()
        self.later, self.saw_it_loaded = later, False

    def act(self, ctx: Any) -> None:
        perform(Command.of("sh", "-c", "exit 0", long=True), ctx)
        self.later.tried.wait(timeout=10)
        self.saw_it_loaded = self.later.loaded.is_set()
        self.done = True


def test_a_later_steps_library_loads_from_the_first_long_command_on() -> None:
    later = Loading()
    first = Waiting(later)
    execute(context(), [first, later], Quiet())
    assert first.saw_it_loaded and later.loaded.is_set() and later.done
    assert later.threads and later.threads != [threading.main_thread().name]


def test_no_long_command_no_library_loaded_early_and_a_failure_to_load_fails_nothing() -> None:
    alone = Loading()
    execute(context(), [alone], Quiet())  # the short steps are not slowed by loading
    assert alone.done and alone.threads == []
    failing = Loading(ImportError("no module named 'oras'"))
    execute(context(), [Waiting(failing), failing], Quiet())  # the step meets it if it is real
    assert failing.done and failing.threads
    looked = Loading()
    execute(context(), [Waiting(looked), looked], Quiet(), dry_run=True)
    assert looked.threads == [] and not looked.done


def test_the_runs_last_check_runs_beside_the_final_look_and_its_failure_is_raised() -> None:
    step, threads = Flaky(), []
    looked = threading.Event()
    observe = step.observe

    def observing(ctx: Any) -> Observation:
        seen = observe(ctx)
        if seen.status is Status.DONE:
            looked.set()
        return seen

    step.observe = observing  # type: ignore[method-assign]

    def published() -> None:
        threads.append(threading.current_thread().name)
        looked.wait(timeout=10)
        raise VerificationError("what is published for v9.9.9 does not verify: SHA256SUMS")

    with pytest.raises(VerificationError, match="does not verify"):
        execute(context(), [step], Quiet(), beside_verify=published)
    assert step.done and threads and threads != [threading.main_thread().name]
    assert execute(context(), [Flaky()], Quiet(), beside_verify=lambda: None)  # a pass is quiet
    shown = Flaky()
    execute(context(), [shown], Quiet(), dry_run=True, beside_verify=published)  # a dry run: none
    assert not shown.done
