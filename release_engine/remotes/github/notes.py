"""The GitHub release's notes: the CHANGELOG section with a footer naming the waived gates,
and why a run has no GitHub client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...built import release_notes

if TYPE_CHECKING:
    from ...context import ReleaseContext

__all__ = ["FOOTER_RULE", "GATE_WAIVERS", "github_absent", "github_notes", "without_waivers"]

#: What parts a GitHub release's notes from their footer (the waivers the publishing run said).
FOOTER_RULE = "\n\n---\n\n"
_FOOTER = f"{FOOTER_RULE}Released with pre-release gates waived: "
#: The pre-release gates a flag waives, as the GitHub release's footer names them.
GATE_WAIVERS = {"ci": "--skip-ci", "review": "--skip-review", "prerelease": "--skip-prerelease"}


def github_notes(ctx: ReleaseContext) -> str:
    """The GitHub release's body: the CHANGELOG section, and a footer naming every pre-release
    gate this run waived (none is waived silently)."""
    from ...report import waived_checks

    waived = [f"{name} ({GATE_WAIVERS[name]})" for name in waived_checks(ctx.options)
              if name in GATE_WAIVERS]  # fmt: skip
    notes = release_notes(ctx)
    if not waived:
        return notes
    return f"{notes.rstrip()}{_FOOTER}{', '.join(waived)}.\n"


def without_waivers(body: str) -> str:
    """A GitHub release's *body* without the footer naming waived gates: what the run that
    published it waived stays said, whatever a later run (a status, a resume) was given."""
    return body.split(FOOTER_RULE, 1)[0]


def github_absent(ctx: ReleaseContext) -> str:
    """Why this run has no GitHub client: no repository configured, or no token for it."""
    if not ctx.config.github_repository:
        return "no GitHub repository configured"
    return f"GITHUB_TOKEN is not set (GitHub repository {ctx.config.github_repository})"
