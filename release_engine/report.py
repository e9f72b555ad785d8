"""The report of a release run, made from what the steps observed — nothing looked up again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .plan import Artifact, ImageDigest, Outcome, PublishedRelease, ReleaseNotes

__all__ = ["Report"]


@dataclass
class Report:
    version: str
    tag: str
    dry_run: bool = False
    rehearsal: bool = False
    already_released: bool = False
    notes: list[str] = field(default_factory=list)
    steps: list[Outcome] = field(default_factory=list)
    changelog: str = ""
    artifacts: list[Artifact] = field(default_factory=list)
    images: list[ImageDigest] = field(default_factory=list)
    release: PublishedRelease | None = None

    def add_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Take the steps' outcomes and everything they saw of the published release."""
        self.steps = list(outcomes)
        for outcome in outcomes:
            for fact in outcome.facts:
                if isinstance(fact, Artifact):
                    self.artifacts.append(fact)
                elif isinstance(fact, ImageDigest):
                    self.images.append(fact)
                elif isinstance(fact, PublishedRelease):
                    self.release = fact
                elif isinstance(fact, ReleaseNotes):
                    self.changelog = fact.text

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: every field, statuses as their names."""
        return {
            "version": self.version,
            "tag": self.tag,
            "dry_run": self.dry_run,
            "rehearsal": self.rehearsal,
            "already_released": self.already_released,
            "notes": list(self.notes),
            "steps": [outcome_dict(o) for o in self.steps],
            "changelog": self.changelog,
            "artifacts": [
                {"filename": a.filename, "sha256": a.sha256, "served_sha256": a.served_sha256}
                for a in self.artifacts
            ],
            "images": [{"ref": i.ref, "digest": i.digest} for i in self.images],
            "release": (
                {"url": self.release.url, "body": self.release.body} if self.release else {}
            ),
        }


def outcome_dict(outcome: Outcome) -> dict[str, object]:
    return {
        "name": outcome.name,
        "title": outcome.title,
        "status": outcome.status.value,
        "detail": outcome.detail,
        "commands": list(outcome.commands),
        "seconds": outcome.seconds,
    }
