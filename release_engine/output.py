"""The single place output is produced. Everything printed passes through :func:`redact`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from .plan import Outcome
from .redact import redact

__all__ = ["ConsoleReporter", "emit_json", "print_report", "print_steps"]

_STYLE = {
    "done": "green",
    "acted": "bold green",
    "skipped": "yellow",
    "pending": "cyan",
    "would-run": "cyan",
    "conflict": "bold red",
}
_MARK = {
    "done": "✓",
    "acted": "✓",
    "skipped": "-",
    "pending": "…",
    "would-run": "→",
    "conflict": "✗",
}


def _console(stream: TextIO) -> Console:
    # A log file or a CI page is not an 80-column terminal: don't cut hashes and URLs short.
    width = None if stream.isatty() else 200
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


class ConsoleReporter:
    """Prints each step as it finishes (to stderr when stdout carries JSON)."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self.console = _console(stream or sys.stdout)
        self.verbose = verbose

    def step(self, outcome: Outcome) -> None:
        style = _STYLE.get(outcome.status, "")
        mark = _MARK.get(outcome.status, "?")
        line = (
            f"{mark} {outcome.title:<30} {outcome.status:<9} {outcome.seconds:>6.1f}s  "
            f"{outcome.detail}"
        )
        self.console.print(redact(line), style=style, markup=False)
        for command in outcome.commands:
            self.console.print(redact(f"    would run: {command}"), markup=False)

    def info(self, message: str) -> None:
        self.console.print(redact(message), style="dim", markup=False)


def print_steps(outcomes: Sequence[Outcome], title: str, stream: TextIO | None = None) -> None:
    """A table of steps: ``release.status`` and the end of a run."""
    table = Table(title=redact(title), title_justify="left")
    for column in ("step", "status", "observed"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(o.title, f"[{_STYLE.get(o.status, '')}]{o.status}[/]", redact(o.detail))
    _console(stream or sys.stdout).print(table)


def print_report(report: dict[str, Any], stream: TextIO | None = None) -> None:
    """The end-of-release report for people."""
    console = _console(stream or sys.stdout)

    def say(text: str) -> None:
        console.print(redact(text), markup=False, highlight=False)

    if report.get("changelog"):
        say(f"\nCHANGELOG section [{report['version']}]:\n{report['changelog']}")
    for a in report.get("artifacts", []):
        same = "matches" if a["sha256"] == a["served_sha256"] else "DIFFERS"
        say(f"artifact {a['filename']}: sha256 {a['sha256']} (index: {a['served_sha256']}, {same})")
    for image in report.get("images", []):
        say(f"image {image['ref']}: {image['digest']}")
    if report.get("release"):
        say(f"GitHub release: {report['release']['url']}")


def emit_json(data: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON object on one line, redacted."""
    out = stream or sys.stdout
    out.write(redact(json.dumps(data, default=str)) + "\n")
    out.flush()
