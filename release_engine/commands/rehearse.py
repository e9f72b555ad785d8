"""``inv release --rehearse``: the release run in a throwaway clone against local stand-ins.

What it rehearses without ``--version`` (the next release), and the run itself: the stand-ins
started for it (:mod:`release_engine.rehearsal`), the clone released by the very same engine.
The stand-ins' libraries are the ``rehearsal`` dependency group: :func:`require_standins`
refuses in one line, before anything starts, where they are not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Setting, load_config
from ..context import Options
from ..redact import Secrets
from ..standins import require as require_standins
from ..version import Version, parse_current_version

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from ..output import ConsoleReporter
    from ..report import Report

__all__ = ["next_release", "rehearse_release", "require_standins"]

Run = Callable[["ReleaseContext", "Report", "ConsoleReporter"], "Report"]


def next_release(repo: Path, options: Options, reporter: ConsoleReporter) -> tuple[str, Options]:
    """What ``inv release --rehearse`` without ``--version`` rehearses: the version
    ``release.status`` suggests; with no fragment waiting, the next patch, released empty
    (a rehearsal publishes nothing real: the machinery is what it shows)."""
    from dataclasses import replace

    from ..cadence import suggested_release

    config = load_config(repo)
    current = parse_current_version(config.current_version)
    version, waiting = suggested_release(repo, current, config.tag_prefix)
    why = "the suggested next version" if waiting else "no fragment waits: the next patch, empty"
    reporter.info(f"rehearsing {version}, {why} (--version X.Y.Z rehearses another)")
    return version.pep440, options if waiting else replace(options, allow_empty=True)


def rehearse_release(
    repo: Path,
    version: Version,
    run: Run,
    draft: Report,
    reporter: ConsoleReporter,
    *,
    options: Options,
    secrets: Secrets,
    settings: dict[str, Setting],
    invocation: str,
    keep: bool,
) -> Report:
    """Release a clone of *repo* against stand-ins started for it (*keep*: the directory
    stays); *run* releases the context, as a real release's is."""
    from ..rehearsal import clone_for_rehearsal, rehearsal_context, stand_ins, workspace

    with workspace(keep) as tmp, stand_ins(tmp) as s:
        draft.rehearsal_dir = str(tmp) if keep else None
        reporter.info(f"rehearsing in {tmp} against local stand-ins")
        work = clone_for_rehearsal(repo, tmp)
        ctx = rehearsal_context(
            work, version, s, options=options, secrets=secrets, settings=settings
        )
        ctx.resume_command = invocation
        report = run(ctx, draft, reporter)
        told = ", ".join(f"{name} {count}" for name, count in s.messages().items())
        report.notes.append(f"messages the stand-ins received: {told or 'none'}")
    return report
