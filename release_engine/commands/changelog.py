"""``inv changelog.add``, ``changelog.preview`` and ``changelog.check``: the fragments a
change adds to ``changelog.d/``, the section they make, and CI's word on a branch without one."""

from __future__ import annotations

from pathlib import Path

from ..errors import ReleaseError
from ..redact import Secrets
from .common import require, require_repository, say, task_json

__all__ = ["add_fragment", "check_fragments", "preview_changelog"]


def add_fragment(
    repo: Path, kind: str | None, message: str | None, issue: str | None, breaking: bool = False
) -> Path:
    """``inv changelog.add``: write a fragment and say where (``--breaking``: a changed
    fragment marked ``BREAKING:``, ``--type changed`` by default)."""
    from ..tools import changelog

    example = 'inv changelog.add --type fixed --message "Fixed ..."'
    kind = require(kind or ("changed" if breaking else None), "--type", example)
    message = require(message, "--message", example)
    path = changelog.add_fragment(repo, kind, message, issue, breaking=breaking)
    say(False, f"wrote {path.relative_to(repo)}")
    return path


def preview_changelog(repo: Path, version: str | None) -> str:
    """``inv changelog.preview``: the next CHANGELOG section, changing nothing."""
    import datetime as dt

    from ..tools import changelog

    label = version or "Unreleased"
    text = changelog.draft(repo, label, dt.date.today().isoformat())
    say(False, text)
    return text


def check_fragments(
    repo: Path,
    compare_with: str | None,
    *,
    as_json: bool = False,
    secrets: Secrets | None = None,
) -> None:
    """``inv changelog.check``: CI's word to a contributor whose branch lacks a fragment.

    A commit of the branch with the trailer ``Changelog: skip`` says no fragment is needed.
    """
    from ..proc import read
    from ..tools import changelog
    from ..tools.git import Git

    known: dict[str, object] = {"base": None, "fragments": [], "skipped_by": None}
    with task_json("changelog-check", as_json, secrets or Secrets(), known):
        require_repository(repo)
        problems = changelog.fragment_problems(repo)
        if problems:
            raise ReleaseError("; ".join(problems))
        base = compare_with or ("origin/main" if Git(repo).rev("origin/main") else "main")
        known["base"] = base
        known["fragments"] = changelog.added_fragments(repo, base)
        skipping = changelog.skip_trailers(repo, base)
        if skipping:
            known["skipped_by"] = skipping[0]
            say(
                as_json,
                f"no changelog fragment needed: commit {skipping[0][:12]} since {base} has the "
                "trailer 'Changelog: skip'",
                secrets,
            )
            return
        if read(changelog.check_command(repo, base), cwd=repo).returncode != 0:
            raise ReleaseError(
                f"this branch adds no changelog fragment since {base}: add one with "
                "inv changelog.add --type fixed --message 'Fixed ...', or, for a change no user "
                "can notice, add the trailer 'Changelog: skip' to a commit message"
            )
        say(as_json, f"changelog fragments OK against {base}", secrets)
