"""What every command shares: the required flag, the clone it runs in, the one JSON object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, MissingFlagError
from ..redact import Secrets

__all__ = ["require", "require_repository", "say", "task_json"]


def require(value: str | None, flag: str, example: str) -> str:
    """A missing required flag is bad input: one line, naming the flag (the edge adds usage).
    A flag given empty (``--version ''``) is not missing: its value is judged, in one line."""
    if value is None:
        raise MissingFlagError(f"{flag} is required, for example: {example}")
    return value


def require_repository(repo: Path) -> None:
    """Every task works in a clone: outside one (an unpacked sdist), one line, not git's."""
    from ..proc import read

    # Its own top: an unpacked sdist inside another repository's work tree is not a clone.
    top = read(["git", "rev-parse", "--show-toplevel"], cwd=repo)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
        raise ConfigError(f"{repo} is not a git repository: run this in a clone of the project")


@contextmanager
def task_json(
    kind: str, as_json: bool, secrets: Secrets, known: dict[str, object]
) -> Iterator[dict[str, object]]:
    """With ``--json``, the task's one object: *known* (filled in as the task goes) with
    ``ok`` true at the end, or with the error when the task fails (then it raises on)."""
    from ..output import emit_json
    from ..report import task_dict

    try:
        yield known
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            emit_json(task_dict(kind, known, exc), secrets=secrets)
        raise
    if as_json:
        emit_json(task_dict(kind, known), secrets=secrets)


def say(as_json: bool, text: str, secrets: Secrets | None = None) -> None:
    """A task's line for people: on stdout, or on stderr when stdout carries the JSON."""
    from ..output import print_line

    print_line(text, err=as_json, secrets=secrets)
