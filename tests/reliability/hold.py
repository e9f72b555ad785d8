"""Holding a release at an exact point, from outside the product, so a kill lands there.

Nothing in the engine knows about this. The release process gets, through its environment:

- git hooks (``core.hooksPath`` via ``GIT_CONFIG_COUNT``): ``pre-merge-commit`` (a merge
  carried out, its commit not made: ``MERGE_HEAD`` left), ``prepare-commit-msg`` (a commit,
  merge or revert about to be written), ``pre-push``, ``reference-transaction`` (a ref moved:
  a commit made, a push accepted by the remote and its tracking ref being updated);
- ``podman`` and ``skopeo`` shims first on ``PATH``, holding before or after the real one ran;
- a ``sitecustomize.py`` on ``PYTHONPATH`` for the engine's ``python -m build`` and
  ``python -m twine`` children.

A point that matches writes a marker file and sleeps; :func:`reached` yields the marker's text
once it exists, and the caller kills the release's process group. Stand-ins hold a request
themselves (:class:`~release_engine.standins.github_faults.Hold`): :func:`arrived`.
"""

from __future__ import annotations

__all__ = ["Holds", "Point", "arrived", "reached"]

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from release_engine.standins.github_faults import Hold

_HOOK = r"""#!/bin/bash
name=${0##*/}
input=""
case $name in reference-transaction|pre-push) input=$(cat);; esac
spec=${RELIABILITY_HOLD:-}
mode=${spec%%:*}
[[ $spec == "$mode:$name:"* ]] || exit 0
[ -e "$RELIABILITY_MARKER" ] && exit 0
pattern=${spec#"$mode:$name:"}
case $name in
  prepare-commit-msg|commit-msg) text=$(cat "$1");;
  pre-merge-commit) text="merge $(cat "$(git rev-parse --git-dir)/MERGE_MSG" 2>/dev/null)";;
  reference-transaction)
    text="$1"
    while read -r _old new ref; do
      [ -n "$ref" ] && text="$text $ref $(git log -1 --format=%s "$new" 2>/dev/null)"
    done <<< "$input";;
  *) text="$* $input";;
esac
if printf '%s\n' "$text" | tr '\n' ' ' | grep -Eq -- "$pattern"; then
  printf 'git %s\n' "$name" > "$RELIABILITY_MARKER"
  [ "$mode" = refuse ] && { echo "refused once by the reliability harness" >&2; exit 1; }
  exec sleep 600
fi
exit 0
"""
_HOOKS = ("pre-merge-commit", "prepare-commit-msg", "commit-msg", "pre-push",
          "reference-transaction")  # fmt: skip

_SHIM = r"""#!/bin/bash
name=${0##*/}
here=${0%/*}
PATH=${PATH#"$here:"}
spec=${RELIABILITY_HOLD:-}
if [[ $spec == "shim:$name:"* ]] && [ ! -e "$RELIABILITY_MARKER" ]; then
  rest=${spec#"shim:$name:"}
  when=${rest%%:*}
  pattern=${rest#*:}
  if [[ " $* " =~ $pattern ]]; then
    if [ "$when" = before ]; then
      printf '%s before\n' "$name" > "$RELIABILITY_MARKER"
      exec sleep 600
    fi
    "$name" "$@"
    rc=$?
    printf '%s after (exit %s)\n' "$name" "$rc" > "$RELIABILITY_MARKER"
    sleep 600
    exit "$rc"
  fi
fi
exec "$name" "$@"
"""

_SITE = r'''"""Holds a python child of the release (-m build, -m twine) for the harness."""
import os
import re
import sys
import threading
import time

_spec = os.environ.get("RELIABILITY_HOLD", "")
_marker = os.environ.get("RELIABILITY_MARKER", "")
if os.environ.get("RELIABILITY_LOG") and "-m" in getattr(sys, "orig_argv", ()):
    with open(os.environ["RELIABILITY_LOG"], "a") as _log:
        _log.write(" ".join(sys.orig_argv) + "\n")
if _spec.startswith("python:") and _marker and not os.path.exists(_marker):
    _, _when, _pattern = _spec.split(":", 2)
    _line = " ".join(getattr(sys, "orig_argv", sys.argv))
    if re.search(_pattern, _line):
        if _when == "start":
            with open(_marker, "w") as _fh:
                _fh.write("python " + _line[:80] + "\n")
            time.sleep(600)
        elif _when == "sdist":  # the sdist written, the wheel being built
            _out = sys.orig_argv[sys.orig_argv.index("--outdir") + 1]

            def _watch() -> None:
                while not (os.path.isdir(_out) and any(
                        n.endswith(".tar.gz") for n in os.listdir(_out))):
                    time.sleep(0.01)
                with open(_marker, "w") as fh:
                    fh.write("python -m build: sdist written\n")

            threading.Thread(target=_watch, daemon=True).start()
'''


@dataclass(frozen=True)
class Point:
    """Where to hold: ``git:HOOK:REGEX``, ``shim:TOOL:before|after:REGEX`` or
    ``python:start|sdist:REGEX``; ``refuse:HOOK:REGEX`` makes that git hook fail once instead.
    *name* is what the table calls it."""

    name: str
    spec: str


class Holds:
    """The hooks, shims and sitecustomize of one harness run, written under *root*."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hooks, self.shims, self.site = root / "hooks", root / "shims", root / "site"
        for folder in (self.hooks, self.shims, self.site):
            folder.mkdir(parents=True, exist_ok=True)
        for name in _HOOKS:
            _script(self.hooks / name, _HOOK)
        for name in ("podman", "skopeo"):
            _script(self.shims / name, _SHIM)
        (self.site / "sitecustomize.py").write_text(_SITE)
        self._count = itertools.count(1)

    def env(self, base: dict[str, str], point: Point | None) -> tuple[dict[str, str], Path]:
        """*base* with the hold machinery in it, holding at *point*; and its marker file."""
        marker = self.root / f"marker-{next(self._count)}"
        env = dict(base)
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath",
            "GIT_CONFIG_VALUE_0": str(self.hooks),
            "PATH": f"{self.shims}:{base.get('PATH', os.defpath)}",
            "PYTHONPATH": str(self.site),
            "RELIABILITY_HOLD": point.spec if point else "",
            "RELIABILITY_MARKER": str(marker),
            "RELIABILITY_LOG": str(marker.with_suffix(".log")),
        }
        return env, marker


def reached(marker: Path) -> Iterator[str]:
    """Yields '' until *marker* exists, then its text: where the release is held."""
    while True:
        yield marker.read_text().strip() if marker.exists() else ""


def arrived(hold: Hold, name: str) -> Iterator[str]:
    """Yields '' until a stand-in has the held request, then *name*."""
    while True:
        yield name if hold.arrived.is_set() else ""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)
