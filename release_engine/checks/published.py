"""The package index answers, and serves no other files of the version being released.

An index never replaces a file. Files of this version already there, made by anything but
this release, would be found by the upload step after the tag and main were pushed. Here the
index's simple API is read before anything changes: a new release with files already served
is refused (choose another version); a resumed one, whose build is here, is refused only for
files whose sha256 differ from that build. The same read says whether the index answers at
all: a closed ``index_simple_url`` is refused by a real run, not only by a dry run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..remotes import index

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from . import Findings

__all__ = ["check"]


def check(ctx: ReleaseContext, found: Findings) -> None:
    from ..remotes.index.upload import served_files

    config = ctx.config
    if not (config.index_url and config.index_simple_url):
        return
    try:
        served = served_files(ctx)  # as the upload step reads it: its login, its answer shared
    except ReleaseError as exc:  # unreachable, or not a simple API: said with what to fix
        said = exc.message.splitlines()[0]
        found.problems.append(said if "check" in said else f"{said}: check index_simple_url")
        return
    ours = index.release_files(served, config.package, ctx.version.pep440)
    if not ours:
        return
    if not found.resuming:
        found.problems.append(
            f"the index already serves {', '.join(sorted(ours))}, which this release did not "
            f"upload (an index never replaces a file): choose another version than {ctx.version}"
        )
        return
    built = {p.name: index.sha256_of(p) for p in ctx.dist_dir.glob("*") if p.is_file()}
    other = sorted(n for n in ours if n in built and built[n] != served[n])
    if other:
        found.problems.append(
            f"the index serves other bytes as {', '.join(other)} than this release built: "
            f"the version is taken; choose another version than {ctx.version}"
        )
