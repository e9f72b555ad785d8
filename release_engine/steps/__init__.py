"""The steps of each flow, in the release process's order (docs/RELEASING.md): each observes,
plans and acts.

``RELEASE_STEPS`` puts reversible local work before anything is published, and ends with
each announcer's step (:mod:`release_engine.remotes`, in the order of its list);
:func:`rollback_steps` (with ``rollback_preconditions`` beside them) undo a release on main:
made when a rollback asks, so a release, a dry run and a status never import their modules.
"""

from __future__ import annotations

from ..plan import Step
from ..remotes import remotes
from ..remotes.github.release import GitHubRelease
from ..remotes.index.upload import Upload
from ..remotes.registry.image import Image, ImagePush
from ..remotes.registry.image_sbom import ImageSbom
from .cycle import NextCycle
from .forward import ForwardMerge
from .git import Branch, Bump, Changelog, Commit, Merge, Push, Tag
from .post import DeployManifests
from .publish import Build

__all__ = ["RELEASE_STEPS", "rollback_steps"]

RELEASE_STEPS: tuple[Step, ...] = (
    Branch(),
    Bump(),
    Changelog(),
    Commit(),
    Tag(),
    Build(),
    Image(),
    Merge(),
    Push(),
    Upload(),
    ImagePush(),
    ImageSbom(),
    GitHubRelease(),
    ForwardMerge(),
    DeployManifests(),
    *(step for remote in remotes() for step in remote.release_steps()),
    NextCycle(),
)


def rollback_steps() -> tuple[Step, ...]:
    """The rollback's steps, in order (their modules imported now)."""
    from .rollback import DeployPrevious, PushRollback, RevertRelease, RollbackTag, YankInChangelog
    from .rollback_issue import InvestigateIssue
    from .rollback_remotes import GitHubLatest, LatestImage, RollbackImage

    return (
        RevertRelease(),
        DeployPrevious(),
        YankInChangelog(),
        RollbackTag(),
        RollbackImage(),
        PushRollback(),
        LatestImage(),
        GitHubLatest(),
        InvestigateIssue(),
        *(step for remote in remotes() for step in remote.rollback_steps()),
    )
