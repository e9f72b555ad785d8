"""The one way the engine runs a command: an argument list, logged redacted, output captured."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import CommandError
from .redact import redact

__all__ = ["run"]

log = logging.getLogger("release_engine")


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = 900,
) -> subprocess.CompletedProcess[str]:
    """Run *args* (never through a shell) and return the completed process.

    *env* is added to the current environment. On a non-zero exit with *check*, raise
    :class:`CommandError` carrying the redacted command and the redacted output.
    """
    argv = [os.fspath(a) for a in args]
    log.debug("$ %s", redact(" ".join(argv)))
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            input=input,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandError([redact(a) for a in argv], 127, f"{argv[0]}: not found") from exc
    if check and proc.returncode != 0:
        output = redact((proc.stdout or "") + (proc.stderr or ""))
        raise CommandError([redact(a) for a in argv], proc.returncode, output)
    return proc
