"""The preflight's checks of what would otherwise fail after publishing, or ship untold.

Each module holds one check and answers in :class:`Findings` (problems refuse the release,
notes are printed); :func:`check_all` runs every one whatever the others found, and a check
that cannot answer (a remote down) is one problem, not the end of the others.

- :mod:`.branches`: ``main_branch`` is a branch of the remote (else bad configuration, exit 2).
- :mod:`.manifests`: the deploy manifests and the Dockerfile exist and name the image.
- :mod:`.channels`: every channel of ``required_channels`` configured with its credential.
- :mod:`.published`: the index answers, and holds no other files of this version.
- :mod:`.docs`: a release with news changed the documentation since the previous release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ReleaseError

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Findings", "check_all"]


@dataclass
class Findings:
    """What one run of the checks found: problems (refuse) and notes (print)."""

    dry_run: bool = False
    resuming: bool = False
    unreached: set[str] = field(default_factory=set)  # the remotes reach() found down
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Check = Callable[["ReleaseContext", Findings], None]


def check_all(ctx: ReleaseContext, found: Findings) -> None:
    """Every check of this folder, each one whatever the others found."""
    from . import channels, docs, manifests, published

    checks: list[Check] = [manifests.check, channels.check]
    if "index" not in found.unreached:  # said once, by reach
        checks.append(published.check)
    if not found.resuming:  # the release commit is made: what it brings is decided
        checks.append(docs.check)
    for check in checks:
        try:
            check(ctx, found)
        except ReleaseError as exc:
            found.problems.append(str(exc).splitlines()[0])
