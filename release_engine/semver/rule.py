"""The rule: what version the evidence allows, after which release.

Semantic Versioning: a break needs a MAJOR bump, a feature a MINOR one, anything else a PATCH.
Below 1.0.0 a break needs only a MINOR bump: the ``major_version_zero`` convention of
python-semantic-release and commitizen (SemVer item 4: anything may change in 0.y.z, and a
minor bump is how a 0.x project says so). A version is judged by its core against the previous
final release: a pre-release promoted to final (1.3.0rc2 -> 1.3.0) is judged against 1.2.x,
not against the rc. A hotfix is a PATCH: one that carries a feature or a break is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..version import Version
from .evidence import Evidence, Finding

__all__ = ["LEVELS", "Verdict", "bump_between", "judge", "required", "smallest"]

Level = Literal["patch", "minor", "major"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")
#: Lines shown for one kind of finding, at most; the rest are counted.
SHOWN = 10


def required(findings: Sequence[Finding], baseline: Version) -> Level:
    """The bump *findings* need after *baseline*."""
    if any(f.kind == "break" for f in findings):
        return "major" if baseline.major >= 1 else "minor"
    if any(f.kind == "feature" for f in findings):
        return "minor"
    return "patch"


def smallest(baseline: Version, level: Level) -> Version:
    """The smallest final version *level* allows after *baseline*."""
    if level == "major":
        return Version(baseline.major + 1, 0, 0)
    if level == "minor":
        return Version(baseline.major, baseline.minor + 1, 0)
    return Version(baseline.major, baseline.minor, baseline.patch + 1)


def bump_between(baseline: Version, version: Version) -> Level:
    """The bump from *baseline* to *version*'s core (1.3.0rc1 is a minor bump from 1.2.4)."""
    if version.major != baseline.major:
        return "major"
    if version.minor != baseline.minor:
        return "minor"
    return "patch"


@dataclass(frozen=True)
class Verdict:
    """What the evidence needs (*level*, *allowed*: the smallest version) and, for a version,
    the lines that refuse it (empty: accepted)."""

    level: Level
    allowed: Version
    refusals: list[str]
    why: list[Finding]  # the findings that set the level, breaks first


def _lines(findings: Sequence[Finding], says: str) -> list[str]:
    lines = [f"{f.line()} {says}" for f in findings[:SHOWN]]
    if len(findings) > SHOWN:
        lines.append(f"… and {len(findings) - SHOWN} more ({says})")
    return lines


def judge(
    evidence: Evidence, baseline: Version, version: Version | None, *, hotfix: bool = False
) -> Verdict:
    """The verdict on releasing *version* (None: only what is needed) after *baseline*."""
    level = required(evidence.findings, baseline)
    allowed = smallest(baseline, level)
    why = [*evidence.breaks, *evidence.features] if level != "patch" else []
    if version is None:
        return Verdict(level, allowed, [], why)
    tag = f"since {evidence.baseline}"
    if hotfix and level != "patch":
        found = evidence.breaks or evidence.features
        kind = "break" if evidence.breaks else "feature"
        says = (
            f"is a {kind} {tag}: a hotfix is a patch and carries no {kind}; release it from "
            f"main as {allowed} or higher (or pass --allow-semver-break)"
        )
        return Verdict(level, allowed, _lines(found, says), why)
    if LEVELS.index(bump_between(baseline, version)) >= LEVELS.index(level):
        return Verdict(level, allowed, [], why)
    kind = "break" if evidence.breaks else "feature"
    found = evidence.breaks if evidence.breaks else evidence.features
    says = (
        f"is a {kind} {tag}: {version} is too small, the smallest allowed version is "
        f"{allowed} (or pass --allow-semver-break)"
    )
    return Verdict(level, allowed, _lines(found, says), why)
