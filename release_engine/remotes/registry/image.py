"""The release's image steps: build the container image from the wheel, then push it to the
registry (``latest`` as a registry-side copy of the version's manifest)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ...built import artifacts, tag_commit
from ...errors import ReleaseError
from ...plan import Action, Call, ImageDigest, Observation, StepBase
from .container import build_metadata, prepare_context
from .repro import check_rebuilt, lock_file, rebuilt_mismatch

if TYPE_CHECKING:
    from ...context import ReleaseContext

__all__ = ["VERSION_LABEL", "Image", "ImagePush"]

VERSION_LABEL = "org.opencontainers.image.version"


class Image(StepBase):
    name, title = "image", "Build container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        engine, ref = ctx.container, f"{ctx.config.image}:{ctx.tag}"
        latest = f"{ctx.config.image}:latest"
        found = engine.inspect_each([ref, latest] if ctx.is_newest else [ref])  # one look
        if engine.labels_of(found[ref]).get(VERSION_LABEL) != ctx.version.pep440:
            # A rerun on another machine (an empty image store) builds again, even what the
            # registry has: image-push then compares the image IDs (.repro).
            return Observation.pending(" + ".join(ctx.image_tags))
        image_id = engine.id_of(found[ref])
        if ctx.is_newest and engine.id_of(found[latest]) != image_id:
            return Observation.pending("latest")
        return Observation.done(f"{ref} ({(image_id or '')[:12]})")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if ctx.container is None:
            return []
        context = ctx.state_dir / "image-context"

        revision, epoch = tag_commit(ctx)
        created = (
            dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat()
            if epoch.isdigit()
            else f"<time of {ctx.tag}>"
        )
        args = build_metadata(
            ctx.version.pep440,
            revision,
            created=created,
            source=ctx.git.remote_url(ctx.config.remote) or "",
            base_image=ctx.config.base_image,
        )

        def prepare() -> None:
            files = artifacts(ctx)
            if not files:
                raise ReleaseError(f"no built wheel for {ctx.version} in {ctx.dist_dir}")
            dockerfile = ctx.state_dir / "src" / ctx.config.dockerfile
            lock = lock_file(ctx)  # the tag's uv.lock, exported with hashes; an asset too
            if lock is None:
                raise ReleaseError(f"no clean export of {ctx.tag} in {ctx.state_dir / 'src'}")
            prepare_context(files[1], dockerfile, context, args, lock=lock.read_text())

        build = ctx.container.build_command(
            context,
            tags=[f"{ctx.config.image}:{tag}" for tag in ctx.image_tags],
            build_args=args,
            iidfile=ctx.state_dir / "image.iid",
            timestamp=epoch if epoch.isdigit() else f"<commit time of {ctx.tag}>",
        )
        ref = f"{ctx.config.image}:{ctx.tag}"
        check = f"compare the image ID with the config digest of {ref} in the registry, if any"
        return [
            Call(f"prepare the build context {context} from the wheel", prepare),
            build,
            Call(check, lambda: check_rebuilt(ctx)),
        ]


class ImagePush(StepBase):
    name, title = "image-push", "Push container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        digest = ctx.registry.digest(ctx.tag)
        if digest is None:
            return Observation.pending(f"{ctx.config.image}:{ctx.tag}")
        version = ctx.registry.labels(ctx.tag).get(VERSION_LABEL)
        if version != ctx.version.pep440:
            return Observation.conflict(
                f"the registry holds {ctx.config.image}:{ctx.tag} labelled version {version}"
            )
        mismatch = rebuilt_mismatch(ctx)  # built here again: is it the published image?
        if mismatch is not None:
            return Observation.conflict(mismatch)
        digests = {
            tag: digest if tag == ctx.tag else ctx.registry.digest(tag) for tag in ctx.image_tags
        }
        facts = [ImageDigest(f"{ctx.config.image}:{tag}", d) for tag, d in digests.items()]
        if any(d != digest for d in digests.values()):
            return Observation.pending("latest", facts)
        return Observation.done(digest, facts)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if ctx.container is None:
            return []
        # Only what the registry lacks: a resumed run never pushes a tag twice, and ``latest``
        # is a registry-side copy of the version's manifest, so it has the very same digest.
        registry = ctx.registry
        found: list[Action] = [Call(registry.login_text, registry.login)]
        digest = registry.digest(ctx.tag)
        if digest is None:
            found.append(
                ctx.container.push_command(
                    f"{ctx.config.image}:{ctx.tag}",
                    tls_verify=ctx.config.registry_tls_verify,
                    authfile=registry.authfile,
                    pass_fds=registry.pass_fds,
                )
            )
        if ctx.is_newest and (digest is None or registry.digest("latest") != digest):
            found.append(registry.copy_command(ctx.tag, "latest"))
        return found
