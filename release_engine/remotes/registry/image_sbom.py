"""The step that attaches the image's SBOM in the registry (:mod:`.sbom`).

It runs after the image push and before the GitHub release: the same SBOM bytes (made by
:mod:`.release_assets`, a function of the published image) go to both places.
"""

from __future__ import annotations

__all__ = ["ImageSbom"]

from typing import TYPE_CHECKING

from ...plan import Action, Call, Observation, StepBase
from .. import index
from ..github.release_assets import sbom_name, wanted
from .sbom import attach_sbom, attached_sbom, has_referrers_api, preload, sbom_tag

if TYPE_CHECKING:
    from ...context import ReleaseContext


class ImageSbom(StepBase):
    name, title = "image-sbom", "Attach the SBOM to the image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        digest = ctx.registry.digest(ctx.tag)
        if digest is None:
            return Observation.pending(f"the SBOM of {ctx.config.image}:{ctx.tag}, once pushed")
        there = attached_sbom(ctx.registry, digest)
        if there is None:
            return Observation.pending(f"{ctx.config.image}:{sbom_tag(digest)}")
        mine = wanted(ctx).files.get(sbom_name(ctx))
        if mine is not None and index.sha256_of(mine) != there:
            return Observation.conflict(
                f"the registry holds another SBOM under {sbom_tag(digest)} (sha256 {there[:12]}):"
                " delete that tag in the registry, then run again"
            )
        how = "a referrer" if has_referrers_api(ctx.registry, digest) else "tag fallback"
        return Observation.done(f"{sbom_tag(digest)} ({how})")

    def preload(self, ctx: ReleaseContext) -> None:
        if ctx.container is not None:
            from ...tools import sbom as document

            document.preload()
            preload()

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if ctx.container is None:
            return []
        image = f"{ctx.config.image}:{ctx.tag}"

        def push() -> None:
            digest = ctx.registry.digest(ctx.tag)
            sbom = wanted(ctx, make=True).files[sbom_name(ctx)]
            creds = ctx.credentials
            attach_sbom(ctx.registry, sbom, digest or "", username=creds.get("REGISTRY_USERNAME"),
                        password=creds.get("REGISTRY_PASSWORD"))  # fmt: skip

        return [
            Call(
                f"push the SBOM of {image} to {ctx.config.image}:sha256-<digest>.sbom, an OCI "
                "artifact whose subject is the image (oras)",
                push,
            )
        ]
