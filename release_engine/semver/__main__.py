"""``python -m release_engine.semver [VERSION]``: the semver guard on HEAD (``nox -s semver``).

It runs in the session's environment (where griffe and the payload's dependencies are
installed), which is why it is a module and not the session's own code. Exit 0: the version
(or, without one, any version from the smallest allowed up) is allowed; 3: refused, one line per
break; 2: bad input. This is an edge: the engine's errors become exit codes only here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ReleaseError
from .guard import session_check

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Print the guard's lines for HEAD of the current directory's repository; the exit code."""
    try:
        lines = session_check(Path.cwd(), argv[0] if argv else None)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
