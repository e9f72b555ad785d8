"""The report of a release run, made from what the steps observed — nothing looked up again.

Its JSON form (``inv release --json``, ``inv release.status --json``) is documented by
``docs/release-report.schema.json``; :data:`SCHEMA_VERSION` changes when a field changes
meaning or goes away (a new field does not change it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import _version
from .errors import PreflightError, ReleaseError
from .plan import Artifact, ImageDigest, Outcome, PublishedRelease, ReleaseNotes, Status

if TYPE_CHECKING:
    from .context import Options

__all__ = [
    "SCHEMA_VERSION",
    "Report",
    "failure_dict",
    "outcome_dict",
    "status_dict",
    "task_dict",
    "waived_checks",
]

SCHEMA_VERSION = 1


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
    commit: str | None = None  # the tag's commit, once tagged
    latest: bool | None = None  # whether this release got ``latest`` (None: not known)
    waived: list[str] = field(default_factory=list)
    rehearsal_dir: str | None = None  # a rehearsal's directory, when --keep kept it
    resume: str = ""  # the command that resumes this release, once it has started

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
        """JSON-ready: every field, statuses as their names; ``ok`` and no error."""
        return {
            **_header("release"),
            "ok": True,
            "version": self.version or None,
            "tag": self.tag or None,
            "commit": self.commit,
            "latest": self.latest,
            "dry_run": self.dry_run,
            "rehearsal": self.rehearsal,
            "rehearsal_dir": self.rehearsal_dir,
            "already_released": self.already_released,
            "waived": list(self.waived),
            "skipped": [
                {"step": o.name, "reason": o.detail}
                for o in self.steps
                if o.status is Status.SKIPPED
            ],
            "notes": list(self.notes),
            "steps": [outcome_dict(o) for o in self.steps],
            "changelog": self.changelog,
            "artifacts": [
                {"filename": a.filename, "sha256": a.sha256, "served_sha256": a.served_sha256}
                for a in self.artifacts
            ],
            "images": [{"ref": i.ref, "digest": i.digest} for i in self.images],
            "release": (
                {"url": self.release.url, "body": self.release.body} if self.release else None
            ),
            "error": None,
            "details": [],
            "failed_step": None,
            "resume": None,
        }


def _header(kind: str) -> dict[str, object]:
    return {"schema_version": SCHEMA_VERSION, "report": kind, "tool_version": _version()}


def waived_checks(options: Options) -> list[str]:
    """The checks a maintainer waived with a flag, by name, for the report."""
    flags = {
        "ci": options.skip_ci,
        "review": options.skip_review,
        "prerelease": options.skip_prerelease,
        "image": options.skip_image,
        "fragments": options.allow_empty,
        "channels": options.skip_channels,
        "docs": options.skip_docs,
        "semver": options.allow_semver_break,
    }
    return [name for name, waived in flags.items() if waived]


def _error_lines(error: BaseException) -> tuple[str, list[str]]:
    """The one line the user reads, and the lines under it (each problem, a command's output)."""
    if isinstance(error, PreflightError):
        return error.message.splitlines()[0], list(error.problems)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted: run the same command again to resume", []
    text = error.message if isinstance(error, ReleaseError) else str(error)
    if not isinstance(error, ReleaseError):
        text = f"internal error: {type(error).__name__}: {text}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [type(error).__name__]
    return lines[0], lines[1:]


def failure_dict(report: Report, error: BaseException, *, started: bool) -> dict[str, object]:
    """The report of a run that failed: what is known so far, the error, how to resume.

    *started* says whether the release got as far as its steps: only then is there a
    release to resume (a refusal changed nothing; the same command is simply run again).
    """
    line, details = _error_lines(error)
    step = getattr(error, "step", "") or None
    data = report.as_dict()
    data.update(
        ok=False,
        error=line,
        details=details,
        failed_step=step,
        resume=(report.resume or None) if (started or step) else None,
    )
    return data


def task_dict(
    kind: str, fields: Mapping[str, object], error: BaseException | None = None
) -> dict[str, object]:
    """The ``--json`` object of ``inv rollback``, ``inv hotfix`` and ``inv changelog.check``
    (``docs/<kind>-report.schema.json``): the header, *fields*, and the error if any."""
    line, details = _error_lines(error) if error is not None else (None, [])
    return {**_header(kind), "ok": error is None, **fields, "error": line, "details": details}


def status_dict(
    version: str | None,
    tag: str | None,
    outcomes: Sequence[Outcome],
    error: BaseException | None = None,
) -> dict[str, object]:
    """``inv release.status --json``: every step as the world shows it, or why it could not."""
    line, details = _error_lines(error) if error is not None else (None, [])
    return {
        **_header("status"),
        "ok": error is None,
        "version": version,
        "tag": tag,
        "steps": [outcome_dict(o) for o in outcomes],
        "error": line,
        "details": details,
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
