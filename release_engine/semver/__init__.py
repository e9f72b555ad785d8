"""The semver guard: the version a release may carry, from what changed since the last one.

Five sources of evidence, each a module: the Python API (:mod:`.api`, griffe), the command
line (:mod:`.cli`), the HTTP API (:mod:`.http`, the OpenAPI document), the database migrations
(:mod:`.migrations`) and the changelog fragments (:mod:`.fragments`). :mod:`.evidence` runs
them side by side on two exported trees and remembers the answer; :mod:`.rule` says which
version that allows; :mod:`.guard` puts it before the release (preflight), in the GitHub
release notes when waived, and in ``release.status``.
"""

from __future__ import annotations

from .evidence import Evidence, Finding, gather
from .guard import WAIVER, baseline, check, preflight_findings, suggestion, waiver_note
from .rule import Verdict, judge

__all__ = [
    "WAIVER",
    "Evidence",
    "Finding",
    "Verdict",
    "baseline",
    "check",
    "gather",
    "judge",
    "preflight_findings",
    "suggestion",
    "waiver_note",
]
