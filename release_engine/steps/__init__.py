"""The steps of each flow, in the release process's order (docs/RELEASING.md): each observes,
plans and acts.

``RELEASE_STEPS`` puts reversible local work before anything is published, and ends with
each announcer's step (:mod:`release_engine.remotes`, in the order of its list);
``ROLLBACK_STEPS`` (with ``rollback_preconditions`` beside them) undo a release on main.
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

__all__ = ["RELEASE_STEPS", "ROLLBACK_STEPS", "rollback_steps"]

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
    """``ROLLBACK_STEPS``: made (and their modules imported) when a rollback asks for them."""
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


def __getattr__(name: str) -> tuple[Step, ...]:
    """``ROLLBACK_STEPS``, made the first time it is asked for (PEP 562): a release, a dry
    run and a status never import the rollback's modules."""
    if name == "ROLLBACK_STEPS":
        globals()[name] = steps = rollback_steps()
        return steps
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
