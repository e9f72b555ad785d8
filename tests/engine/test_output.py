"""What people read: no escape codes under NO_COLOR or a dumb terminal, ASCII where the output
cannot take ✓, and no time figure for a step that did not run."""

from __future__ import annotations

import io
import re

import pytest

from release_engine.output import ConsoleReporter, print_steps
from release_engine.plan import Outcome, Status

STEPS = [
    Outcome("tag", "Create git tag", Status.ACTED, "annotated v1.2.3", seconds=1.25),
    Outcome("push", "Push branch, tag and main", Status.WOULD_RUN, "atomic push", ["git push"]),
    Outcome("merge", "Merge to main", Status.CONFLICT, "main moved"),
    Outcome("notify", "Notify stakeholders", Status.SKIPPED, "no webhook"),
]


def shown(encoding: str = "utf-8") -> str:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    reporter = ConsoleReporter(stream)
    for outcome in STEPS:
        reporter.step(outcome)
    print_steps(STEPS, "release v1.2.3", stream)
    return raw.getvalue().decode(encoding)


@pytest.mark.parametrize(("name", "value"), [("NO_COLOR", "1"), ("TERM", "dumb")])
def test_no_escape_code_at_all_when_asked_for_plain_output(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal, as far as rich can tell
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert "\x1b[" in shown()  # the styles are there without the switch: the test can fail
    monkeypatch.setenv(name, value)
    assert "\x1b[" not in shown()


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_marks_fall_back_to_ascii_where_the_output_cannot_take_them(encoding: str) -> None:
    text = shown(encoding)  # errors="strict": one ✓ written would raise here
    lines = text.splitlines()
    assert lines[0].startswith("+ Create git tag")
    assert lines[1].startswith("> Push branch, tag and main")
    assert lines[3].startswith("x Merge to main")
    assert "✓" in shown("utf-8") and "→" in shown("utf-8")


def test_only_a_step_that_ran_shows_how_long_it_took() -> None:
    lines = shown().splitlines()
    assert "acted        1.2s  annotated v1.2.3" in lines[0]
    assert lines[1].endswith("would-run          atomic push")  # not a meaningless 0.0s
    assert not any(re.search(r"\d\.\ds", line) for line in lines[1:4])
