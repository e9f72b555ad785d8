"""The deploy manifests exist and name the image; the Dockerfile exists.

The manifests are moved after the index, the registry and GitHub have the release: a path
with a typo (``deploy/k8s/deploymnet.yaml``) or a manifest that names another image would
stop the release there, published. Both are read here, on the branch the release is cut
from, with the very pattern the ``deploy-manifests`` step rewrites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..steps.common import retarget_manifest

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from . import Findings

__all__ = ["check", "names_image"]


def names_image(text: str, image: str) -> bool:
    """Whether *text* has an ``image: …/NAME:TAG`` reference the release can move."""
    return retarget_manifest(text, image, "\0") != text


def check(ctx: ReleaseContext, found: Findings) -> None:
    config, branch = ctx.config, ctx.config.main_branch  # where step deploy-manifests reads
    building = bool(config.image) and not ctx.options.skip_image
    for path in config.deploy_manifests:
        text = ctx.git.show(branch, path)
        if text is None:
            found.problems.append(
                f"deploy manifest {path} is not on {branch}: fix [tool.release] "
                "deploy_manifests (or --set deploy_manifests=PATH,…)"
            )
        elif building and not names_image(text, config.image):
            name = config.image.rsplit("/", 1)[-1]
            found.problems.append(
                f"deploy manifest {path} has no 'image: …/{name}:TAG' line for the release to "
                "move: add one, or fix [tool.release] deploy_manifests or image"
            )
    if building and ctx.git.show(ctx.base_branch, config.dockerfile) is None:
        found.problems.append(
            f"dockerfile {config.dockerfile} is not on {ctx.base_branch}: fix [tool.release] "
            "dockerfile, or pass --skip-image"
        )
