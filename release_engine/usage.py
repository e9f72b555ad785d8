"""invoke's own parse errors, read as this project's bad input: exit 2, closest name suggested.

invoke answers a mistyped flag with ``No idea what '--rehears' is!`` and exit 1, the code this
project keeps for "failed midway, run the same command again". ``tasks.py`` hands invoke's
:class:`~invoke.exceptions.ParseError` to :func:`bad_input_line` and exits 2 with its line, as
every other piece of bad input does. Only the standard library is imported here: this runs on
the way to ``inv --help``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["bad_input_line"]

_UNKNOWN = re.compile(r"No idea what '(?P<token>.*)' is!")
_NO_VALUE = re.compile(r"Flag <Argument: (?P<name>[\w-]+).*needed value.*")


def bad_input_line(
    message: str, task: str | None, flags: Iterable[str], tasks: Iterable[str]
) -> str:
    """One line for invoke's parse error *message*, raised while parsing *task*'s flags
    (``None``: before any task) whose long and short flags are *flags*; *tasks* are the
    collection's task names, for a mistyped task."""
    unknown = _UNKNOWN.fullmatch(message.strip())
    where = f"inv --help {task}" if task else "inv --list"
    no_value = _NO_VALUE.fullmatch(message.strip())
    if no_value is not None:
        flag = "--" + no_value.group("name").strip("_-").replace("_", "-")
        return f"error: {flag} needs a value: see {where}"
    if unknown is None:  # a value given to a switch, an ambiguous value …
        return f"error: {message.strip().rstrip('!')}: see {where}"
    token = unknown.group("token")
    if token.startswith("-"):
        names = sorted(f for f in flags if f.startswith("--"))
        known = f" for 'inv {task}'" if task else ""
        line = f"error: there is no flag {token}{known}"
        close = difflib.get_close_matches(token.split("=")[0], names, n=1, cutoff=0.6)
    else:
        line = f"error: there is no task {token!r}"
        close = difflib.get_close_matches(token, sorted(tasks), n=1, cutoff=0.6)
        where = "inv --list"
    if close:
        return f"{line}: did you mean {close[0]}? (see {where})"
    return f"{line}: see {where}"
