"""The single place output is produced; everything printed passes through the run's secrets.

Steps as they finish, progress lines of long commands as they come (a live panel of the last
lines in a terminal, plain indented lines in CI and logs), the step table, the report, JSON.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .plan import Outcome, Status
from .redact import Secrets
from .report import Report

if TYPE_CHECKING:
    from .cadence import Cadence

__all__ = [
    "ConsoleReporter",
    "emit_json",
    "print_cadence",
    "print_line",
    "print_release",
    "print_report",
    "print_steps",
]

_STYLE = {
    Status.DONE: "green",
    Status.ACTED: "bold green",
    Status.SKIPPED: "yellow",
    Status.PENDING: "cyan",
    Status.WOULD_RUN: "cyan",
    Status.CONFLICT: "bold red",
    Status.UNKNOWN: "bold yellow",
    Status.ROLLED_BACK: "magenta",
}
_MARK = {
    Status.DONE: "✓",
    Status.ACTED: "✓",
    Status.SKIPPED: "-",
    Status.PENDING: "…",
    Status.WOULD_RUN: "→",
    Status.CONFLICT: "✗",
    Status.UNKNOWN: "?",
    Status.ROLLED_BACK: "↩",
}
#: The marks where the output's encoding has no ✓ (a log written as latin-1 or ASCII).
_ASCII_MARK = {
    Status.DONE: "+",
    Status.ACTED: "+",
    Status.SKIPPED: "-",
    Status.PENDING: ".",
    Status.WOULD_RUN: ">",
    Status.CONFLICT: "x",
    Status.UNKNOWN: "?",
}
_LIVE_LINES = 6


def plain(env: Mapping[str, str] | None = None) -> bool:
    """No escape codes at all: ``NO_COLOR`` (no-color.org: any non-empty value) or a dumb
    terminal. rich alone drops colours for NO_COLOR but keeps bold and dim."""
    env = os.environ if env is None else env
    return bool(env.get("NO_COLOR")) or env.get("TERM") == "dumb"


def speaks_unicode(stream: IO[str]) -> bool:
    """Whether *stream*'s encoding can write the marks (✓ → ✗ …); else ASCII stands in."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(_MARK.values()).encode(codecs.lookup(encoding).name)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def _console(stream: TextIO) -> Console:
    # A log file or a CI page is not an 80-column terminal: don't cut hashes and URLs short.
    width = None if stream.isatty() else 200
    if plain():  # no colour, and no bold or dim either: not one escape code
        return Console(
            file=stream, highlight=False, soft_wrap=True, width=width,
            color_system=None, no_color=True,
        )  # fmt: skip
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


class ConsoleReporter:
    """Prints each step as it finishes (to stderr when stdout carries JSON).

    :attr:`seen` keeps the outcomes printed so far: the report of a run that failed.
    """

    def __init__(self, stream: TextIO | None = None, *, secrets: Secrets | None = None) -> None:
        self.console = _console(stream or sys.stdout)
        self.marks = _MARK if speaks_unicode(self.console.file) else _ASCII_MARK
        self.secrets = secrets or Secrets()
        self.seen: list[Outcome] = []
        self._lines: deque[str] = deque(maxlen=_LIVE_LINES)
        self._live: Live | None = None

    def _say(self, text: str, style: str = "") -> None:
        self._end_progress()
        self.console.print(Text(self.secrets.redact(text), style=style))

    def step(self, outcome: Outcome) -> None:
        self.seen.append(outcome)
        # Seconds only for what ran: an observed or previewed step took no time worth a figure.
        took = f"{outcome.seconds:>6.1f}s" if outcome.status is Status.ACTED else " " * 7
        line = (
            f"{self.marks[outcome.status]} {outcome.title:<30} {outcome.status.value:<9} "
            f"{took}  {outcome.detail}"
        )
        self._say(line, _STYLE[outcome.status])
        for command in outcome.commands:
            self._say(f"    would run: {command}")

    def info(self, message: str) -> None:
        self._say(message, "dim")

    def progress(self, line: str) -> None:
        """One line of a long command's output, as it is printed."""
        clean = self.secrets.redact(line)
        if not self.console.is_terminal or plain():  # no cursor movement for a dumb terminal
            self.console.print(Text(f"    | {clean}", style="dim"))
            return
        self._lines.append(clean)
        panel = Text("\n".join(f"    | {x}" for x in self._lines), style="dim")
        if self._live is None:
            self._live = Live(panel, console=self.console, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(panel, refresh=True)

    def _end_progress(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._lines.clear()


def print_steps(
    outcomes: Sequence[Outcome],
    title: str,
    stream: TextIO | None = None,
    *,
    secrets: Secrets | None = None,
) -> None:
    """A table of steps: ``release.status`` and the end of a run."""
    secrets = secrets or Secrets()
    table = Table(title=secrets.redact(title), title_justify="left")
    for column in ("step", "status", "observed"):
        table.add_column(column)
    for o in outcomes:
        status = Text(o.status.value, style=_STYLE[o.status])
        table.add_row(Text(o.title), status, Text(secrets.redact(o.detail)))
    _console(stream or sys.stdout).print(table)


_REMOTES = {"github": "GitHub release", "registry": "registry image", "index": "index"}


def print_cadence(
    cadence: Cadence, stream: TextIO | None = None, *, secrets: Secrets | None = None
) -> None:
    """``release.status``: the last release, what waits for the next one, what is ``latest``."""
    secrets = secrets or Secrets()
    console = _console(stream or sys.stdout)
    last = "none yet"
    if cadence.last_release is not None:
        days = cadence.days_since
        ago = f"{days} day{'' if days == 1 else 's'} ago"
        last = f"{cadence.last_release} on {cadence.last_date} ({ago})"
    waiting = ", ".join(f"{n} {kind}" for kind, n in cadence.fragments.items()) or "none"
    suggested = "none (no fragments waiting)"
    if cadence.suggested is not None:
        suggested = f"{cadence.suggested} ({cadence.bump})"
    lines = [
        f"last release: {last}",
        f"unreleased fragments: {waiting}",
        f"suggested next version: {suggested}",
        *_semver_lines(cadence.semver),
        *(
            [f"rolled back: {', '.join(str(v) for v in cadence.rolled_back)}"]
            if cadence.rolled_back
            else []
        ),
        *(
            f"latest {_REMOTES.get(name, name)}: {seen.describe()}"
            for name, seen in cadence.latest.items()
        ),
    ]
    for line in lines:
        console.print(Text(secrets.redact(line)))


def _semver_lines(seen: dict[str, Any] | None) -> list[str]:
    """Why the semver guard asks for its bump: the first breaks and features it found."""
    if seen is None:
        return []
    if "error" in seen:
        return [f"semver evidence: unknown ({seen['error']})"]
    found = f"{len(seen['breaks'])} break(s), {len(seen['features'])} feature(s)"
    lines = [f"semver evidence since {seen['since']}: {found}; smallest next: {seen['smallest']}"]
    lines += [f"  {line}" for line in seen["why"]]
    lines += [f"  unread: {line}" for line in seen["unread"]]
    return lines


def print_report(
    report: Report, stream: TextIO | None = None, *, secrets: Secrets | None = None
) -> None:
    """The end-of-release report for people."""
    secrets = secrets or Secrets()
    console = _console(stream or sys.stdout)

    def say(text: str) -> None:
        console.print(Text(secrets.redact(text)))

    if report.changelog:
        say(f"\nCHANGELOG section [{report.version}]:\n{report.changelog}")
    for a in report.artifacts:
        same = "matches" if a.sha256 == a.served_sha256 else "DIFFERS"
        if a.sha256 is None:
            same = "not built here"
        say(f"artifact {a.filename}: sha256 {a.sha256} (index: {a.served_sha256}, {same})")
    for image in report.images:
        say(f"image {image.ref}: {image.digest}")
    if report.release is not None:
        say(f"GitHub release: {report.release.url}")


def print_release(
    report: Report, stream: TextIO | None = None, *, as_json: bool, secrets: Secrets | None = None
) -> None:
    """The end of ``inv release``: its one JSON object (*as_json*), or the step table (its
    title says a rehearsal, a dry run) and, when the run acted, the report for people."""
    if as_json:
        emit_json(report.as_dict(), stream, secrets=secrets)
        return
    title = f"{'Rehearsal of ' if report.rehearsal else ''}release {report.tag}"
    title += " (dry run: nothing changed)" if report.dry_run else ""
    print_steps(report.steps, title, stream, secrets=secrets)
    if not report.dry_run:
        print_report(report, stream, secrets=secrets)


def emit_json(
    data: Mapping[str, object], stream: TextIO | None = None, *, secrets: Secrets | None = None
) -> None:
    """One JSON object on one line, redacted."""
    out = stream or sys.stdout
    out.write((secrets or Secrets()).redact(json.dumps(data, default=str)) + "\n")
    out.flush()


def print_line(
    text: str, stream: TextIO | None = None, *, err: bool = False, secrets: Secrets | None = None
) -> None:
    """A task's plain line (or text) for people, redacted: on stdout, or on stderr (*err*,
    when stdout carries JSON or the line is a problem), without rich's markup or wrapping."""
    out = stream or (sys.stderr if err else sys.stdout)
    out.write((secrets or Secrets()).redact(text) + "\n")
