"""The command line a failure tells the user to run again: what was run, every flag kept."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from ..context import Options

__all__ = ["release_invocation", "rollback_invocation"]


def release_invocation(
    version: str,
    options: Options,
    overrides: Sequence[str] = (),
    *,
    rehearse: bool = False,
    keep: bool = False,
    as_json: bool = False,
) -> str:
    """The ``inv release`` command line that was run, every flag and ``--set`` included, in
    the order ``inv --help release`` lists them: the command a failure tells the user to run
    again. Credentials never travel on it (they come from the environment), so none is here.
    """
    words = ["inv", "release", "--version", version]
    flags = {
        "--rehearse": rehearse,
        "--keep": keep,
        "--json": as_json,
        "--allow-empty": options.allow_empty,
        "--allow-semver-break": options.allow_semver_break,
        "--skip-ci": options.skip_ci,
        "--skip-review": options.skip_review,
        "--skip-prerelease": options.skip_prerelease,
        "--skip-image": options.skip_image,
        "--skip-channels": options.skip_channels,
        "--skip-docs": options.skip_docs,
    }
    words += [flag for flag, given in flags.items() if given]
    words += ["--prebuilt", options.prebuilt] if options.prebuilt else []
    for pair in overrides:
        words += ["--set", pair]
    return shlex.join(words)


def rollback_invocation(version: str, overrides: Sequence[str] = ()) -> str:
    """The ``inv rollback`` command line that was run, every ``--set`` included."""
    words = ["inv", "rollback", "--version", version]
    for pair in overrides:
        words += ["--set", pair]
    return shlex.join(words)
