"""``inv release.status``: every step of a release and what the world shows for it, the
cadence (what the next release would be) and who holds the remote's release lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..config import load_config, parse_overrides
from ..errors import ReleaseError
from ..proc import observing
from ..redact import Secrets
from ..version import parse_current_version, parse_version
from .common import require_repository

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["status_command"]


def status_command(
    repo: Path,
    version: str | None,
    *,
    secrets: Secrets,
    as_json: bool = False,
    overrides: list[str] | None = None,
) -> None:
    """``inv release.status``: every step of a release and what the world shows for it.

    Without *version* (the current one), it first shows the cadence: the last release, the
    fragments waiting, the suggested next version and what ``latest`` points at on each remote.
    """
    from .. import __version__
    from ..engine import open_release, status_and_cadence
    from ..output import emit_json, print_cadence, print_line, print_steps
    from ..proc import in_background
    from ..report import status_dict

    pep440, tag, seen = None, None, None
    try:
        require_repository(repo)
        settings = parse_overrides(overrides)
        if version is not None:
            parsed = parse_version(version)
        else:  # the last release, or the next one the cadence suggests (X.Y.Z.devN: X.Y.Z)
            from ..cadence import described_release

            config = load_config(repo)
            current = parse_current_version(config.current_version)
            parsed = described_release(repo, current, config.tag_prefix)
        pep440 = parsed.pep440
        ctx = open_release(repo, parsed, overrides=settings, secrets=secrets)
        tag = ctx.tag
        with observing():  # the cadence, the lock and the steps read each fact once
            holder = in_background(_lock_state, ctx)
            # The question "what next?" is asked without a version: the cadence.
            outcomes, seen = status_and_cadence(ctx, cadence=version is None)
            lock = holder.result()
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            emit_json(status_dict(pep440, tag, [], exc), secrets=secrets)
        raise
    if as_json:
        data = status_dict(pep440, tag, outcomes)
        if seen is not None:
            data["cadence"] = seen.as_dict()
        data["lock"] = lock
        emit_json(data, secrets=secrets)
    else:
        if seen is not None:
            print_cadence(seen, secrets=secrets)
        if lock is not None:
            stale = " (stale: past its expiry)" if lock["stale"] else ""
            print_line(f"release lock: held, {lock['holder']}{stale}", secrets=secrets)
        print_steps(outcomes, f"release {tag} (release engine {__version__})", secrets=secrets)


def _lock_state(ctx: ReleaseContext) -> dict[str, object] | None:
    """Who holds the remote's release lock, if anyone: a release under way somewhere."""
    import time

    from ..remote_lock import read_holder

    try:
        found = read_holder(ctx.git, ctx.config.remote)
    except ReleaseError as exc:  # status shows what it can; the steps say the remote is down
        return {"holder": f"unknown ({exc.message})", "what": None, "stale": False}
    if found is None:
        return None
    sha, holder = found
    if holder is None:
        return {"holder": f"a commit {sha[:12]} this engine did not write", "what": None,
                "stale": False}  # fmt: skip
    return {"holder": holder.describe(), "what": holder.what, "stale": holder.expires < time.time()}
