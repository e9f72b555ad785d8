"""Imported first by the benchmarks that start the rehearsal's stand-ins: without their
libraries (the ``rehearsal`` dependency group), one line and exit 2, as ``inv release
--rehearse`` says it, instead of an ImportError's traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from release_engine.errors import UsageError  # noqa: E402
from release_engine.standins import require  # noqa: E402

__all__: list[str] = []

try:
    require()
except UsageError as exc:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(exc.exit_code) from None
