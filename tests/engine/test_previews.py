"""What a dry run prints is what a real run executes; long commands stream as they run."""

from __future__ import annotations

import io
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from release_engine import engine
from release_engine.context import ReleaseContext
from release_engine.output import ConsoleReporter
from release_engine.plan import Action, Observation, Outcome, Step
from release_engine.proc import Command, recording, run
from release_engine.rehearsal import rehearsal_context
from release_engine.steps import RELEASE_STEPS
from release_engine.version import parse_version
from tests.engine.conftest import VERSION, Rehearsal


@dataclass
class Watched:
    """A release step whose act is watched: what it previewed just before, what it ran."""

    step: Step
    seen: dict[str, tuple[list[Command], list[Command]]]
    name: str = field(init=False)
    title: str = field(init=False)

    def __post_init__(self) -> None:
        self.name, self.title = self.step.name, self.step.title

    def observe(self, ctx: ReleaseContext) -> Observation:
        return self.step.observe(ctx)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return self.step.actions(ctx)

    def act(self, ctx: ReleaseContext) -> None:
        previewed = [a for a in self.step.actions(ctx) if isinstance(a, Command)]
        with recording() as ran:
            self.step.act(ctx)
        self.seen[self.name] = (previewed, ran)


@pytest.mark.e2e
def test_each_previewed_command_is_what_act_runs_argument_for_argument(
    rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, tuple[list[Command], list[Command]]] = {}
    monkeypatch.setattr(engine, "RELEASE_STEPS", tuple(Watched(s, seen) for s in RELEASE_STEPS))
    dry = rehearsal.run(dry_run=True)
    shown = {o.name: o.commands for o in dry.steps}
    assert shown["branch"] == [f"git checkout --quiet -b release/v{VERSION} main"]
    with recording() as during_dry_run:
        rehearsal.run(dry_run=True)
    assert during_dry_run == []  # a dry run runs reads only: not one write

    rehearsal.run()
    acted = {"branch", "bump", "changelog", "commit", "tag", "build", "merge", "push", "upload"}
    if rehearsal.s.registry is not None:
        acted |= {"image", "image-push", "deploy-manifests"}
    assert acted <= set(seen)
    for name, (previewed, ran) in seen.items():
        assert [c.argv for c in ran] == [c.argv for c in previewed], name
        assert ran == previewed, name  # cwd, environment and streaming too
    # The dry run showed the same commands, switches of branch included (every step checks out
    # the branch it works on); the whole run is compared in test_dry_run_equals_run.py.
    for name in ("branch", "bump", "commit", "tag", "merge", "push"):
        assert shown[name] == [c.render() for c in seen[name][0]], name
    upload = seen["upload"][0][0]
    assert upload.secret_env == {"TWINE_PASSWORD"} and "***" in upload.render()
    assert rehearsal.s.index.password not in upload.render()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def step(self, outcome: Outcome) -> None:
        self.events.append(("step", outcome.name))

    def info(self, message: str) -> None:
        self.events.append(("info", message))

    def progress(self, line: str) -> None:
        self.events.append(("progress", line))


def test_a_long_command_streams_each_line_before_it_ends(tmp_path: Path) -> None:
    # The command prints one line, then waits until that line has been seen: without
    # streaming it would never end (the timeout below would fail the test instead).
    release = tmp_path / "seen"
    script = (
        "import pathlib, sys, time\n"
        "print('first line', flush=True)\n"
        f"p = pathlib.Path({str(release)!r})\n"
        "while not p.exists(): time.sleep(0.01)\n"
        "print('second line')\n"
    )
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        release.touch()

    command = Command.of(sys.executable, "-c", script, long=True, timeout=30)
    done = run(command, progress=progress)
    assert lines == ["first line", "second line"]
    assert done.stdout == "first line\nsecond line\n"


@pytest.mark.e2e
def test_a_long_step_streams_its_output_before_the_step_ends(rehearsal: Rehearsal) -> None:
    reporter = Recorder()
    ctx = rehearsal_context(rehearsal.work, parse_version(VERSION), rehearsal.s)
    engine.release(ctx, reporter)
    build = reporter.events.index(("step", "build"))
    before = [line for kind, line in reporter.events[:build] if kind == "progress"]
    after_tag = reporter.events.index(("step", "tag"))
    during = [e for e in reporter.events[after_tag:build] if e[0] == "progress"]
    assert any("Successfully built" in line for line in before)
    assert len(during) > 3  # python -m build and twine check talked while the step ran


def test_progress_is_redacted_and_plain_outside_a_terminal() -> None:
    from release_engine.redact import Secrets

    stream = io.StringIO()
    reporter = ConsoleReporter(stream, secrets=Secrets(["pa55-pa55-pa55"]))
    thread = threading.Thread(target=reporter.progress, args=("uploading with pa55-pa55-pa55",))
    thread.start()
    thread.join()
    assert stream.getvalue() == "    | uploading with ***\n"
